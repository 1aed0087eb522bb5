import { test } from "node:test";
import assert from "node:assert/strict";
import { KNOWN, parseBootScript, postEvents, startHarness, type Harness, json } from "./harness.ts";
import { SECRET_HASH } from "../../fakes/control-hosts.ts";

async function armAndBoot(h: Harness, action = "install"): Promise<string> {
  h.store.arm("ws1", action as "install");
  return parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text()).token;
}
const ev = (seq: number, kind: string, extra: Record<string, unknown> = {}) => ({
  seq,
  time: new Date().toISOString(),
  phase: 1,
  kind,
  ...extra,
});
const post = postEvents;

test("spec: only with a valid token; absent, unknown, foreign-shaped, revoked and expired get no secret", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h);
  const ok = await fetch(`${h.url}/api/v1/run/${token}/spec`);
  assert.equal(ok.status, 200);
  const spec = await json(ok);
  assert.equal(spec.host, "ws1");
  assert.equal(spec.users[0].password, SECRET_HASH);
  const denied: Array<[string, number]> = [
    ["/api/v1/run//spec", 404],
    ["/api/v1/run/x/spec", 404],
    [`/api/v1/run/${"A".repeat(32)}/spec`, 404],
    [`/api/v1/run/${token}x/spec`, 404],
    [`/spec?token=${token.slice(0, 10)}`, 404],
  ];
  for (const [path, status] of denied) {
    const r = await fetch(h.url + path);
    const body = await r.text();
    assert.equal(r.status, status, path);
    assert.ok(!body.includes(SECRET_HASH), path);
  }
  // expired
  h.clock.now += 3600_001;
  const exp = await fetch(`${h.url}/api/v1/run/${token}/spec`);
  assert.equal(exp.status, 401);
  assert.ok(!(await exp.text()).includes(SECRET_HASH));
});

test("a token is bound to its host: ws1's token never yields ws2's spec", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h);
  const spec = await json(fetch(`${h.url}/api/v1/run/${token}/spec`));
  assert.equal(spec.host, "ws1");
  // ws2 has an overlay, ws1 has none: the overlay route answers for ws1 only
  assert.equal((await fetch(`${h.url}/api/v1/run/${token}/overlay.tar`)).status, 404);
});

test("events: stored, deduplicated, run-done revokes the token and returns the host to local", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h);
  let r = await post(h, token, [ev(1, "run-start"), ev(2, "step-start", { step: "probe" })]);
  assert.deepEqual(await json(r), {
    accepted: 2,
    duplicates: 0,
    dropped: 0,
    status: "running",
    phase: 1,
  });
  r = await post(h, token, [
    ev(2, "step-start", { step: "probe" }),
    ev(3, "step-end", { step: "probe" }),
  ]);
  assert.deepEqual(await json(r), {
    accepted: 1,
    duplicates: 1,
    dropped: 0,
    status: "running",
    phase: 1,
  });
  assert.equal((await post(h, token, [{ seq: 0 }])).status, 400);
  const bad = await post(h, token, [ev(4, "log", { phase: 2 })]);
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /phase 2 with a phase-1 token/);
  // phase 2
  const p2 = await fetch(`${h.url}/api/v1/run/${token}/phase2`, { method: "POST" });
  const { token: t2 } = (await json(p2)) as { token: string };
  assert.equal((await fetch(`${h.url}/api/v1/run/${token}/spec`)).status, 401);
  assert.equal((await fetch(`${h.url}/api/v1/run/${t2}/spec`)).status, 200);
  r = await post(h, t2, [
    ev(1, "step-start", { phase: 2, step: "packages" }),
    ev(2, "run-done", { phase: 2 }),
  ]);
  assert.deepEqual(await json(r), {
    accepted: 2,
    duplicates: 0,
    dropped: 0,
    status: "done",
    phase: 2,
  });
  assert.equal((await fetch(`${h.url}/api/v1/run/${t2}/spec`)).status, 401);
  const st = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(st.state, "local");
  const events = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1/events`));
  assert.equal(events.length, 5);
});

test("step-fail: run failed and visible, the next power-on boots local", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h);
  await post(h, token, [
    ev(1, "run-start"),
    ev(2, "step-fail", {
      step: "pave-root",
      device: "/dev/vda2",
      command: "mkfs.ext4",
      exitCode: 1,
      stderrTail: "busy",
    }),
  ]);
  const st = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(st.state, "failed:install");
  assert.match(st.run.failure, /step pave-root, device \/dev\/vda2/);
  assert.match(
    await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text(),
    /failed; re-arm to retry\)\niseq \$\{platform\} efi && exit 1 \|\|\nexit/,
  );
});

test("overlay.tar streams the packed overlay for the token's host", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  h.store.arm("ws2", "install");
  h.neighbours.set("127.0.0.1", "52:54:00:aa:00:02"); // the test plays ws2 now
  const text = await (await fetch(`${h.url}/boot.ipxe?mac=52:54:00:aa:00:02`)).text();
  const { token } = parseBootScript(text);
  const r = await fetch(`${h.url}/api/v1/run/${token}/overlay.tar`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/x-tar");
  assert.equal(await r.text(), "tar-bytes");
});

test("SSE follow replays stored events and pushes new ones", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h);
  await post(h, token, [ev(1, "run-start")]);
  const ac = new AbortController();
  t.after(() => ac.abort());
  const r = await fetch(`${h.url}/api/v1/admin/hosts/ws1/events?follow=1`, { signal: ac.signal });
  assert.equal(r.headers.get("content-type"), "text/event-stream");
  const reader = r.body!.getReader();
  let text = "";
  const until = async (pred: () => boolean) => {
    while (!pred()) text += new TextDecoder().decode((await reader.read()).value);
  };
  await until(() => text.includes('"run-start"'));
  await post(h, token, [ev(2, "step-start", { step: "fetch" })]);
  await until(() => text.includes('"step-start"'));
  assert.match(text, /^id: \d+\nevent: run-event\ndata: \{/m);
  ac.abort();
});
