// The payload's non-install actions against the real server in-process:
// rescue reports and ends its run (host back to local) only after root's
// keys were fetched with the run's token; an action the payload does not
// carry fails the run with a message instead of leaving it stalled.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, type NetworkInterfaceInfo } from "node:os";
import { join } from "node:path";
import { reachableAddresses, refuseAction, runRescue } from "../../../payload/actions.ts";
import { KNOWN, parseBootScript, startHarness, type Harness, json } from "./harness.ts";

async function armAndBoot(h: Harness, action: "rescue" | "deploy:gold-1"): Promise<string> {
  h.store.arm("ws1", action);
  return parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text()).token;
}
const ifs = () =>
  ({
    lo: [{ address: "127.0.0.1", family: "IPv4", internal: true }],
    eth0: [
      { address: "10.77.0.50", family: "IPv4", internal: false },
      { address: "fe80::1", family: "IPv6", internal: false },
    ],
  }) as unknown as NodeJS.Dict<NetworkInterfaceInfo[]>;

test("reachableAddresses: no loopback, no link-local", () => {
  assert.deepEqual(reachableAddresses(ifs()), ["eth0 10.77.0.50"]);
});

test("rescue: the run ends after root's keys are in, with the address to ssh to", async (t) => {
  const h = await startHarness();
  const dir = await mkdtemp(join(tmpdir(), "am-rescue-"));
  t.after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });
  const token = await armAndBoot(h, "rescue");
  const keysDone = join(dir, "rescue-keys.done");
  const lines: string[] = [];
  const done = runRescue({
    server: h.url,
    token,
    keysDone,
    keysWaitMs: 10_000,
    interfaces: ifs,
    write: (l) => lines.push(l),
  });
  // Until the keys are fetched, the run stays open and its token valid.
  await new Promise((r) => setTimeout(r, 600));
  const before = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(before.state, "running:rescue");
  assert.equal((await fetch(`${h.url}/api/v1/run/${token}/spec`)).status, 200);
  await writeFile(keysDone, "ok\n");
  assert.equal(await done, 0);
  const after = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(after.state, "local", "a finished rescue boots the disk next time");
  assert.equal(after.runs[0].status, "done");
  const events = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1/events`));
  const last = events.at(-1).event;
  assert.equal(last.kind, "run-done");
  assert.match(last.message, /rescue system up: ssh root@10\.77\.0\.50 \(root's keys installed\)/);
  assert.deepEqual(last.summary.addresses, ["eth0 10.77.0.50"]);
  assert.equal((await fetch(`${h.url}/api/v1/run/${token}/spec`)).status, 401, "token revoked");
  assert.ok(
    lines.some((l) => l.includes("rescue system up")),
    lines.join("\n"),
  );
});

test("rescue: keys that never come do not keep the run open for ever", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h, "rescue");
  const rc = await runRescue({
    server: h.url,
    token,
    keysDone: "/nonexistent/rescue-keys.done",
    keysWaitMs: 300,
    interfaces: ifs,
    write: () => {},
  });
  assert.equal(rc, 0);
  const events = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1/events`));
  assert.match(events.at(-1).event.message, /root's keys timed out/);
});

test("an action the payload does not know fails the run, naming it", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  // Any live run: the payload refuses an action name it does not know.
  const token = await armAndBoot(h, "deploy:gold-1");
  const rc = await refuseAction("reinstall", { server: h.url, token, write: () => {} });
  assert.equal(rc, 2);
  const s = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.equal(s.state, "failed:deploy:gold-1");
  assert.match(JSON.stringify(s), /action \\"reinstall\\" is not one this payload knows/);
});
