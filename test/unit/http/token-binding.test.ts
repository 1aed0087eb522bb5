// Issue #14: only the armed machine gets its run token (the asking address
// must belong to the MAC), the token is pinned to the address that first
// uses it, bodies are parsed only after the token is checked, and armed
// actions and unstarted runs expire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeHost } from "../../fakes/control-hosts.ts";
import type { HostEntry } from "../../../server/hosts/index.ts";
import { KNOWN, json, parseBootScript, raw, startHarness } from "./harness.ts";

const armInstall = (h: { store: { arm(host: string, a: "install"): unknown } }) =>
  h.store.arm("ws1", "install");

test("boot.ipxe from an address that is not the MAC's gets no token and leaves the action armed", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  armInstall(h);
  // The neighbour table says loopback is another machine; then nobody at all.
  for (const owner of ["52:54:00:66:66:66", undefined]) {
    if (owner) h.neighbours.set("127.0.0.1", owner);
    else h.neighbours.delete("127.0.0.1");
    const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
    assert.doesNotMatch(text, /automagic\.token/);
    assert.match(
      text,
      new RegExp(`-> local \\(boot script asked for ${KNOWN} from 127\\.0\\.0\\.1: `),
    );
    assert.equal((await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`))).state, "armed:install");
  }
  // The real machine then gets it.
  h.neighbours.set("127.0.0.1", KNOWN);
  assert.match(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text(), /automagic\.token=/);
});

test("a relayed machine gets its token only from its host file's netboot.allowFrom", async (t) => {
  const relayed = fakeHost("ws1", [KNOWN], {
    raw: { netboot: { allowFrom: ["127.0.0.0/30"] } } as unknown as HostEntry["raw"],
  });
  const h = await startHarness({ hosts: [relayed] });
  t.after(() => h.close());
  h.neighbours.clear();
  armInstall(h);
  const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  const { token } = parseBootScript(text);
  assert.equal((await raw(h.url, `/api/v1/run/${token}/spec`)).status, 200);
  // 127.0.0.9 is outside 127.0.0.0/30: refused even before the token was pinned.
  const h2 = await startHarness({ hosts: [relayed] });
  t.after(() => h2.close());
  h2.neighbours.clear();
  h2.store.arm("ws1", "install");
  const r = await raw(h2.url, "/boot.ipxe?mac=" + KNOWN, {}, "GET", { from: "127.0.0.9" });
  assert.doesNotMatch(r.body.toString(), /automagic\.token/);
});

test("the first run-API call pins the token; a call from another address is refused with both", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  armInstall(h);
  const { token } = parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text());
  // A foreign address may not be the first user either (not the boot address, not ws1's).
  const early = await raw(h.url, `/api/v1/run/${token}/spec`, {}, "GET", { from: "127.0.0.2" });
  assert.equal(early.status, 401);
  assert.match(early.body.toString(), /127\.0\.0\.2 is in neither/);
  const spec = await raw(h.url, `/api/v1/run/${token}/spec`);
  assert.equal(spec.status, 200);
  // Pinned to 127.0.0.1 now, even if the neighbour table later says 127.0.0.2 is ws1.
  h.neighbours.set("127.0.0.2", KNOWN);
  const stolen = await raw(h.url, `/api/v1/run/${token}/overlay.tar`, {}, "GET", {
    from: "127.0.0.2",
  });
  assert.equal(stolen.status, 401);
  assert.match(stolen.body.toString(), /bound to 127\.0\.0\.1, used from 127\.0\.0\.2/);
  const status = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(status.run.specIp, "127.0.0.1");
  assert.equal(status.run.bootIp, "127.0.0.1");
});

test("the events route checks the token before parsing the body, and caps a batch at 1 MB", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const bad = "A".repeat(32);
  // Not JSON at all: with no valid token the body is never parsed.
  const r = await raw(
    h.url,
    `/api/v1/run/${bad}/events`,
    { "content-type": "application/json" },
    "POST",
    {
      body: "{not json",
    },
  );
  assert.equal(r.status, 404);
  assert.match(r.body.toString(), /run token unknown/);
  armInstall(h);
  const { token } = parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text());
  const big = JSON.stringify({
    events: Array.from({ length: 40 }, (_, i) => ({
      seq: i + 1,
      time: new Date().toISOString(),
      phase: 1,
      kind: "log",
      message: "x".repeat(60 * 1024),
    })),
  });
  const tooBig = await raw(
    h.url,
    `/api/v1/run/${token}/events`,
    { "content-type": "application/json" },
    "POST",
    {
      body: big,
    },
  );
  assert.equal(tooBig.status, 413);
});

test("past the run's event quota only terminal events are stored", async (t) => {
  const h = await startHarness({ store: { eventsPerRun: 100 } });
  t.after(() => h.close());
  armInstall(h);
  const { token } = parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text());
  const ev = (seq: number, kind: string) => ({
    seq,
    time: new Date().toISOString(),
    phase: 1,
    kind,
    step: "s",
  });
  const post = (events: unknown[]) =>
    json(
      fetch(`${h.url}/api/v1/run/${token}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events }),
      }),
    );
  const first = await post(Array.from({ length: 150 }, (_, i) => ev(i + 1, "log")));
  assert.deepEqual([first.accepted, first.dropped], [100, 50]);
  const last = await post([ev(151, "log"), ev(152, "run-done")]);
  assert.deepEqual([last.accepted, last.dropped, last.status], [1, 1, "done"]);
});

test("an armed action no machine boots expires after armFor, with the reason shown", async (t) => {
  const h = await startHarness({ store: { windows: { armForMs: 3600_000 } } });
  t.after(() => h.close());
  armInstall(h);
  h.clock.now += 3600_000;
  const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  assert.doesNotMatch(text, /automagic\.token/);
  const s = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(s.state, "local");
  assert.match(s.note, /armed install expired: no machine booted it within 1 h/);
});

test("a boot script whose payload never fetches the spec expires after bootWindow; its token dies", async (t) => {
  const h = await startHarness({ store: { windows: { bootWindowMs: 30 * 60_000 } } });
  t.after(() => h.close());
  armInstall(h);
  const { token } = parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text());
  h.clock.now += 30 * 60_000;
  // Weeks later an ordinary reboot netboots: it goes to the disk, not into an install.
  h.clock.now += 14 * 86400_000;
  const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  assert.match(
    text,
    /-> local \(run 1 \(install\) expired: its payload never fetched the spec within 30 min/,
  );
  assert.equal((await raw(h.url, `/api/v1/run/${token}/spec`)).status, 401);
  const s = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(s.state, "local");
  assert.equal(s.run.status, "expired");
});

test("a phase-2 rotation whose answer was lost can be retried until the phase-2 token is used", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  armInstall(h);
  const { token } = parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text());
  assert.equal((await raw(h.url, `/api/v1/run/${token}/spec`)).status, 200);
  const rotate = (from?: string) =>
    raw(h.url, `/api/v1/run/${token}/phase2`, {}, "POST", from ? { from } : {});
  const lost = JSON.parse((await rotate()).body.toString()).token as string;
  // serve died before the answer reached the payload: it asks again.
  const again = await rotate();
  assert.equal(again.status, 200);
  const token2 = JSON.parse(again.body.toString()).token as string;
  assert.notEqual(token2, lost);
  assert.equal((await raw(h.url, `/api/v1/run/${lost}/spec`)).status, 401, "the lost one dies");
  // Not from another address, and not once the new token has been used.
  assert.equal((await rotate("127.0.0.2")).status, 401);
  assert.equal((await raw(h.url, `/api/v1/run/${token2}/spec`)).status, 200);
  assert.equal((await rotate()).status, 401);
});

test("phase 2 is pinned where the installed system fetches its spec, not where phase 1 sent its last events", async (t) => {
  // Proxy mode: the RAM system had 127.0.0.1 from another DHCP server, the
  // installed system gets 127.0.0.3; both are the host's MAC on the segment.
  const h = await startHarness();
  t.after(() => h.close());
  h.neighbours.set("127.0.0.3", KNOWN);
  armInstall(h);
  const { token } = parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text());
  assert.equal((await raw(h.url, `/api/v1/run/${token}/spec`)).status, 200);
  const rot = await raw(h.url, `/api/v1/run/${token}/phase2`, {}, "POST");
  const token2 = JSON.parse(rot.body.toString()).token as string;
  const events = (seq: number, kind: string, from?: string) =>
    raw(h.url, `/api/v1/run/${token2}/events`, { "content-type": "application/json" }, "POST", {
      body: JSON.stringify({ events: [{ seq, time: new Date().toISOString(), phase: 1, kind }] }),
      ...(from ? { from } : {}),
    });
  // Phase 1's stragglers under the phase-2 token, from the RAM system's address.
  assert.equal((await events(90, "phase-done")).status, 200);
  // The installed system, elsewhere: its spec fetch pins the phase-2 token.
  assert.equal(
    (await raw(h.url, `/api/v1/run/${token2}/spec`, {}, "GET", { from: "127.0.0.3" })).status,
    200,
  );
  assert.equal((await events(91, "log")).status, 401, "the RAM system's address no longer");
  assert.equal((await events(92, "log", "127.0.0.3")).status, 200);
  const s = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(s.run.specIp, "127.0.0.3");
});
