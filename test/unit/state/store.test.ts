import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateStore } from "../../../server/state/store.ts";
import { decideBoot } from "../../../server/policy/decide.ts";
import type { RunEvent } from "../../../payload/spec/events.ts";

/** A fresh state folder, removed when the test ends. */
function stateDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "am-ctl-state-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
/** A store in a fresh state folder, closed when the test ends. */
function openStore(t: TestContext): StateStore {
  const s = new StateStore(stateDir(t));
  t.after(() => s.close());
  return s;
}
const ev = (seq: number, kind: RunEvent["kind"], extra: Partial<RunEvent> = {}): RunEvent => ({
  seq,
  time: "2026-11-27T10:00:00.000Z",
  phase: 1,
  kind,
  ...extra,
});
const host = { name: "ws1" };
const mac = "52:54:00:00:00:01";
const decide = (s: StateStore, canBoot = true) =>
  s.decideAndBegin("ws1", mac, (f) => decideBoot(host, f, { mac }), canBoot);

test("arm -> boot consumes the action into a run with a token; unarmed boots local", (t) => {
  const s = openStore(t);
  assert.equal(decide(s).decision.kind, "local");
  s.arm("ws1", "install");
  const b = decide(s);
  assert.equal(b.decision.kind, "boot");
  assert.ok(b.token && b.runId);
  assert.equal(s.hostFacts("ws1").armed, "local");
  const c = s.checkToken(b.token);
  assert.ok(c.ok && c.run.id === b.runId && c.phase === 1);
});

test("no image: the armed action is not consumed", (t) => {
  const s = openStore(t);
  s.arm("ws1", "install");
  const b = decide(s, false);
  assert.equal(b.decision.kind, "boot");
  assert.equal(b.token, undefined);
  assert.equal(s.hostFacts("ws1").armed, "install");
});

test("re-served booting run rotates the token; once started, netboot is local", (t) => {
  const s = openStore(t);
  s.arm("ws1", "install");
  const a = decide(s);
  const b = decide(s);
  assert.equal(b.runId, a.runId);
  assert.notEqual(b.token, a.token);
  assert.deepEqual(s.checkToken(a.token!), { ok: false, reason: "revoked" });
  s.markStarted(b.runId!);
  assert.equal(decide(s).decision.kind, "local");
  assert.ok(s.checkToken(b.token!).ok);
});

test("events: stored once per seq, step tracked, step-fail fails the run and revokes", (t) => {
  const s = openStore(t);
  s.arm("ws1", "install");
  const { runId, token } = decide(s);
  const r1 = s.appendEvents(runId!, 1, [
    ev(1, "run-start"),
    ev(2, "step-start", { step: "fetch-stage3" }),
    ev(3, "progress", { step: "fetch-stage3", progress: { done: 5, total: 10, unit: "bytes" } }),
  ]);
  assert.equal(r1.accepted, 3);
  assert.equal(r1.run.status, "running");
  assert.equal(r1.run.currentStep, "fetch-stage3");
  assert.deepEqual(r1.run.progress, { done: 5, total: 10, unit: "bytes" });
  const r2 = s.appendEvents(runId!, 1, [ev(3, "progress"), ev(4, "log", { message: "x" })]);
  assert.deepEqual([r2.accepted, r2.duplicates], [1, 1]);
  const r3 = s.appendEvents(runId!, 1, [
    ev(5, "step-fail", {
      step: "pave-root",
      device: "/dev/sda2",
      command: "mkfs.ext4 /dev/sda2",
      exitCode: 1,
      stderrTail: "device busy",
    }),
  ]);
  assert.equal(r3.run.status, "failed");
  assert.match(
    r3.run.failure!,
    /step pave-root, device \/dev\/sda2, command "mkfs.ext4 \/dev\/sda2", exit code 1\ndevice busy/,
  );
  assert.deepEqual(s.checkToken(token!), { ok: false, reason: "revoked" });
  // failed: NOT re-armed, boots local
  assert.equal(decide(s).decision.kind, "local");
  assert.equal(s.hostEvents("ws1").length, 5);
});

test("phase 2 rotates the token; run-done ends the run; state survives reopening", (t) => {
  const dir = stateDir(t);
  let now = 1_000_000;
  let s = new StateStore(dir, { now: () => now, tokenTtlMs: 60_000 });
  s.arm("ws1", "install");
  const { runId, token } = decide(s);
  s.appendEvents(runId!, 1, [ev(1, "run-start"), ev(2, "phase-done")]);
  const t2 = s.beginPhase2(runId!);
  assert.deepEqual(s.checkToken(token!), { ok: false, reason: "revoked" });
  s.close();
  s = new StateStore(dir, { now: () => now, tokenTtlMs: 60_000 });
  t.after(() => s.close());
  const c = s.checkToken(t2);
  assert.ok(c.ok && c.phase === 2);
  now += 59_000;
  s.appendEvents(runId!, 2, [ev(1, "step-start", { phase: 2, step: "packages" })]);
  now += 59_000; // still valid: events slide the expiry
  assert.ok(s.checkToken(t2).ok);
  now += 61_000;
  assert.deepEqual(s.checkToken(t2), { ok: false, reason: "expired" });
  s.appendEvents(runId!, 2, [ev(2, "run-done", { phase: 2 })]);
  assert.equal(s.run(runId!)!.status, "done");
  assert.equal(s.hostEvents("ws1").length, 4);
});

test("arming over an active run cancels it and revokes its token", (t) => {
  const s = openStore(t);
  s.arm("ws1", "install");
  const { runId, token } = decide(s);
  assert.deepEqual(s.arm("ws1", "local"), { cancelledRun: runId });
  assert.equal(s.run(runId!)!.status, "cancelled");
  assert.equal(s.checkToken(token!).ok, false);
  assert.equal(s.checkToken("not a token").ok, false);
});

test("observations: trace per MAC, discovered, leases", (t) => {
  const s = openStore(t);
  s.obs.trace("52:54:00:00:00:09", "dhcp", "offer", { mode: "proxy", bootfile: "snponly.efi" });
  s.obs.trace("52:54:00:00:00:09", "tftp", "transfer done", { file: "snponly.efi" });
  s.obs.trace("52:54:00:00:00:08", "dhcp", "offer");
  const tr = s.obs.traceFor(["52:54:00:00:00:09"]);
  assert.deepEqual(
    tr.map((e) => e.what),
    ["offer", "transfer done"],
  );
  assert.equal(tr[0]!.detail!.mode, "proxy");
  s.obs.discover("52:54:00:00:00:09", { arch: "x86_64" });
  s.obs.discover("52:54:00:00:00:09", { ip: "10.0.0.9" });
  s.obs.discover("52:54:00:00:00:08", {});
  const d = s.obs.discovered((m) => m.endsWith("08"));
  assert.equal(d.length, 1);
  assert.equal(d[0]!.seen, 2);
  assert.equal(d[0]!.arch, "x86_64");
  assert.equal(d[0]!.ip, "10.0.0.9");
  assert.equal(s.obs.ipFor("52:54:00:00:00:09"), "10.0.0.9", "discovered at");
  s.obs.trace("52:54:00:00:00:09", "http", "boot.ipxe served", { ip: "10.0.0.29" });
  s.obs.trace("52:54:00:00:00:09", "payload", "run-done", { run: 1 });
  assert.equal(
    s.obs.ipFor("52:54:00:00:00:09"),
    "10.0.0.29",
    "last traced request with an address",
  );
  s.obs.saveLeases([{ mac: "52:54:00:00:00:09", ip: "10.0.0.19", expires: 5 }]);
  assert.equal(s.obs.ipFor("52:54:00:00:00:09"), "10.0.0.19", "our lease first");
  assert.equal(s.obs.ipFor("52:54:00:00:00:07"), undefined);
});
