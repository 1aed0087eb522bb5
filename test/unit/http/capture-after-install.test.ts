// postInstall.capture (#15): phase 2's phase-done with next: capture keeps
// the run open in phase 3; the next netboot serves `capture` for the same
// run with a phase-3 token; the capture's events are filed under phase 3 and
// its run-done ends the run. A deploy's spec never asks for a capture.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  KNOWN,
  parseBootScript,
  postEvents as post,
  startHarness,
  json,
  type Harness,
} from "./harness.ts";
import { fakeSpec } from "../../fakes/control-hosts.ts";
import type { HostEntry } from "../../../server/hosts/index.ts";

const withCapture = (h: HostEntry) => ({
  ...fakeSpec(h),
  postInstall: { capture: { to: ["home" as const, "server" as const] } },
  sysimgs: { keep: 1 },
});
const ev = (seq: number, kind: string, phase: number, extra: Record<string, unknown> = {}) => ({
  seq,
  time: new Date().toISOString(),
  phase,
  kind,
  ...extra,
});
/** What a boot script says: the action, token and run when it boots the RAM image; nothing when local. */
async function boot(h: Harness): Promise<{ action?: string; token: string; runId?: number }> {
  const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  const action = /automagic\.action=(\S+)/.exec(text)?.[1];
  if (!action) return { token: "" };
  const runId = Number(/ run=(\d+)/.exec(text)?.[1]);
  return { action, token: parseBootScript(text).token, runId };
}

/** Arm install, boot, rotate to phase 2, and phase 2 says the capture follows. */
async function throughPhase2(h: Harness): Promise<void> {
  h.store.arm("ws1", "install");
  const first = await boot(h);
  await json(fetch(`${h.url}/api/v1/run/${first.token}/spec`));
  const { token: t2 } = await json(
    fetch(`${h.url}/api/v1/run/${first.token}/phase2`, { method: "POST" }),
  );
  await json(fetch(`${h.url}/api/v1/run/${t2}/spec`));
  await post(h, t2, [ev(1, "phase-done", 2, { summary: { next: "capture" } })]);
}

test("install -> phase 2 -> capture in one run: phase 3 token, capture served once phase 2 says so", async (t) => {
  const h = await startHarness({ resolveSpec: withCapture });
  t.after(() => h.close());
  h.store.arm("ws1", "install");
  const first = await boot(h);
  assert.equal(first.action, "install");
  const spec1 = await json(fetch(`${h.url}/api/v1/run/${first.token}/spec`));
  assert.deepEqual(spec1.postInstall, { capture: { to: ["home", "server"] } });
  await post(h, first.token, [ev(1, "run-start", 1), ev(2, "phase-done", 1)]);
  const { token: t2 } = await json(
    fetch(`${h.url}/api/v1/run/${first.token}/phase2`, { method: "POST" }),
  );
  // Phase 2 still running: a netboot goes to the disk.
  assert.equal((await boot(h)).action, undefined);
  await json(fetch(`${h.url}/api/v1/run/${t2}/spec`));
  const r = await post(h, t2, [ev(1, "phase-done", 2, { summary: { next: "capture" } })]);
  assert.deepEqual(await json(r), {
    accepted: 1,
    duplicates: 0,
    dropped: 0,
    status: "booting",
    phase: 3,
  });
  assert.equal((await fetch(`${h.url}/api/v1/run/${t2}/spec`)).status, 401, "phase 2's token died");
  // The reboot: the same run, action capture, a fresh token.
  const cap = await boot(h);
  assert.equal(cap.action, "capture");
  assert.equal(cap.runId, first.runId);
  const spec3 = await json(fetch(`${h.url}/api/v1/run/${cap.token}/spec`));
  assert.deepEqual(spec3.run.capture.to, ["home", "server"]);
  assert.match(spec3.run.capture.name, /^ws1-\d{8}T\d{6}Z$/);
  assert.equal(spec3.run.capture.ramImage, "img-1");
  // A power cut mid-capture: the capture is served again (it only reads disks), same image name.
  await post(h, cap.token, [ev(1, "run-start", 1)]);
  const again = await boot(h);
  assert.equal(again.action, "capture");
  const spec3b = await json(fetch(`${h.url}/api/v1/run/${again.token}/spec`));
  assert.equal(spec3b.run.capture.name, spec3.run.capture.name);
  // The capture reports as phase 1; the phase-3 token files it as phase 3.
  const done = await post(h, again.token, [ev(1, "run-start", 1), ev(2, "run-done", 1)]);
  assert.equal((await json(done)).status, "done");
  const events = (await json(fetch(`${h.url}/api/v1/admin/hosts/ws1/events`))) as Array<{
    runId: number;
    event: { phase: number; kind: string };
  }>;
  assert.ok(
    events.every((e) => e.runId === first.runId),
    "one run",
  );
  assert.ok(events.some((e) => e.event.phase === 3 && e.event.kind === "run-done"));
  assert.equal((await boot(h)).action, undefined, "done: the disk boots");
});

test("a failed capture fails the run, naming the capture; the installed system boots", async (t) => {
  const h = await startHarness({ resolveSpec: withCapture });
  t.after(() => h.close());
  await throughPhase2(h);
  const cap = await boot(h);
  await json(fetch(`${h.url}/api/v1/run/${cap.token}/spec`));
  await post(h, cap.token, [
    ev(1, "step-fail", 1, { step: "room", message: "refused: /home ..." }),
  ]);
  const st = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(st.run.status, "failed");
  assert.match(
    st.run.failure,
    /^capture after the install failed \(the installed system is in place\): step room/,
  );
  assert.equal((await boot(h)).action, undefined);
});

test("a capture that never netboots fails the run after the boot window, saying why", async (t) => {
  const h = await startHarness({
    resolveSpec: withCapture,
    store: { windows: { bootWindowMs: 60_000 } },
  });
  t.after(() => h.close());
  await throughPhase2(h);
  h.clock.now += 60_001;
  assert.equal((await boot(h)).action, undefined);
  const st = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(st.run.status, "failed");
  assert.match(
    st.run.failure,
    /capture after phase 2 did not start within 1 min.*installed system is in place/,
  );
});

test("a deploy's spec asks for no capture and lists the server's images of the host", async (t) => {
  const h = await startHarness({ resolveSpec: withCapture });
  t.after(() => h.close());
  h.store.arm("ws1", "deploy:latest");
  const b = await boot(h);
  const spec = await json(fetch(`${h.url}/api/v1/run/${b.token}/spec`));
  assert.deepEqual(spec.postInstall, { capture: false });
  assert.deepEqual(spec.run, { deploy: { image: "latest", server: [] } });
  // ?name= must be one of the host's images on the server.
  const r = await fetch(`${h.url}/api/v1/run/${b.token}/sysimg?name=other-1`);
  assert.equal(r.status, 404);
});
