import { test } from "node:test";
import assert from "node:assert/strict";
import { decideBoot } from "../../../server/policy/decide.ts";
import { parseAction } from "../../../server/policy/actions.ts";
import { normalizeMac } from "../../../server/policy/mac.ts";
import { hostPhase, phaseLabel, type RunFacts } from "../../../server/policy/state-machine.ts";

const host = { name: "ws1" };
const req = { mac: "52:54:00:00:00:01" };
const run = (status: RunFacts["status"], extra: Partial<RunFacts> = {}): RunFacts => ({
  id: 7,
  host: "ws1",
  action: "install",
  status,
  phase: 1,
  startedAt: 1000,
  ...extra,
});

test("unknown MAC and unarmed hosts boot local", () => {
  assert.equal(decideBoot(undefined, undefined, req).kind, "local");
  assert.equal(decideBoot(host, undefined, req).kind, "local");
  assert.equal(decideBoot(host, { armed: "local" }, req).kind, "local");
});

test("every armed action boots that action", () => {
  for (const a of ["install", "capture", "rescue", "deploy:ws1-2026"] as const) {
    assert.deepEqual(decideBoot(host, { armed: a }, req), {
      kind: "boot",
      action: a,
      reason: `armed ${a}`,
    });
  }
});

test("a run the payload has not started yet is re-served; any later state boots local", () => {
  const d = decideBoot(host, { armed: "local", run: run("booting") }, req);
  assert.equal(d.kind, "boot");
  assert.equal(d.kind === "boot" && d.reuseRun, 7);
  for (const s of ["running", "done", "failed", "cancelled"] as const) {
    assert.equal(decideBoot(host, { armed: "local", run: run(s) }, req).kind, "local", s);
  }
});

test("re-arming after a failure boots again", () => {
  const d = decideBoot(host, { armed: "install", run: run("failed") }, req);
  assert.equal(d.kind, "boot");
  assert.equal(d.kind === "boot" && d.reuseRun, undefined);
});

test("host phase labels, stalled derived from the clock", () => {
  assert.equal(phaseLabel(hostPhase({ armed: "local" }, 0, 1000)), "local");
  assert.equal(phaseLabel(hostPhase({ armed: "capture" }, 0, 1000)), "armed:capture");
  const r = run("running", { lastEventAt: 5000 });
  assert.equal(phaseLabel(hostPhase({ armed: "local", run: r }, 5500, 1000)), "running:install");
  assert.equal(phaseLabel(hostPhase({ armed: "local", run: r }, 6000, 1000)), "stalled:install");
  const f = run("failed", { failure: "step pave" });
  assert.deepEqual(hostPhase({ armed: "local", run: f }, 0, 1), {
    state: "failed",
    action: "install",
    runId: 7,
    failure: "step pave",
  });
  assert.equal(phaseLabel(hostPhase({ armed: "local", run: run("done") }, 0, 1)), "local");
});

test("parseAction accepts the five actions and names what it rejects", () => {
  assert.equal(parseAction(" install "), "install");
  assert.equal(parseAction("deploy:gold-1.img"), "deploy:gold-1.img");
  assert.throws(() => parseAction("reinstall"), /action "reinstall": expected local/);
  assert.throws(() => parseAction("deploy:../x"), /deploy needs an image name/);
  assert.throws(() => parseAction("deploy:"), /deploy needs an image name/);
});

test("normalizeMac takes iPXE, BOOTIF, hyphen and upper-case forms", () => {
  for (const t of [
    "52:54:00:AB:cd:01",
    "01-52-54-00-ab-cd-01",
    "52-54-00-ab-cd-01",
    "525400abcd01",
  ]) {
    assert.equal(normalizeMac(t), "52:54:00:ab:cd:01", t);
  }
  assert.equal(normalizeMac("52:54:00:ab:cd"), undefined);
  assert.equal(normalizeMac("zz:54:00:ab:cd:01"), undefined);
});
