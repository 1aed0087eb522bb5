// discover (#20) against the real app in-process: the boot decision for an
// unknown MAC with commissioning off (local, as before) and on (a discover
// run bound to that MAC), what its token may and may not do, the inventory
// endpoint's validation and bounds, and the admin inventory/draft routes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decideBoot } from "../../../server/policy/decide.ts";
import { parseAction } from "../../../server/policy/actions.ts";
import {
  KNOWN,
  UNKNOWN,
  json,
  parseBootScript,
  postEvents,
  startHarness,
  type Harness,
} from "./harness.ts";

const INVENTORY = JSON.parse(
  readFileSync(
    join(import.meta.dirname, "../../fixtures/discover/inventory-bios-create.json"),
    "utf8",
  ),
) as Record<string, unknown>;
const req = { mac: UNKNOWN };

test("decide: an unknown MAC boots local unless commissioning is on, then discover once", () => {
  assert.equal(decideBoot(undefined, undefined, req).kind, "local");
  assert.equal(decideBoot(undefined, { armed: "local" }, req, { commission: false }).kind, "local");
  assert.deepEqual(decideBoot(undefined, { armed: "local" }, req, { commission: true }), {
    kind: "boot",
    action: "discover",
    reason: "unknown MAC: commissioning (discover)",
  });
  const run = {
    id: 3,
    host: `discovered:${UNKNOWN}`,
    action: "discover" as const,
    phase: 1 as const,
    startedAt: 1,
  };
  for (const status of ["running", "done", "failed", "expired"] as const)
    assert.equal(
      decideBoot(undefined, { armed: "local", run: { ...run, status } }, req, { commission: true })
        .kind,
      "local",
      status,
    );
  const again = decideBoot(undefined, { armed: "local", run: { ...run, status: "booting" } }, req, {
    commission: true,
  });
  assert.equal(again.kind === "boot" && again.reuseRun, 3, "not started yet: served again");
  assert.equal(parseAction("discover"), "discover");
  assert.deepEqual(decideBoot({ name: "ws1" }, { armed: "discover" }, req), {
    kind: "boot",
    action: "discover",
    reason: "armed discover",
  });
});

const boot = async (h: Harness, mac: string) =>
  (await fetch(`${h.url}/boot.ipxe?mac=${mac}`)).text();
const post = (h: Harness, token: string, body: unknown) =>
  fetch(`${h.url}/api/v1/run/${token}/inventory`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

test("commissioning off: an unknown MAC gets local and no run", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const script = await boot(h, UNKNOWN);
  assert.match(script, /-> local \(unknown MAC \(recorded as discovered\)\)/);
  assert.equal(h.store.latestRun(`discovered:${UNKNOWN}`), undefined);
});

test("commissioning on: an unknown MAC discovers once; its token reports and nothing else", async (t) => {
  const h = await startHarness({
    config: { commission: { unknown: true, then: "reboot", allowFrom: ["127.0.0.1"] } },
  });
  t.after(() => h.close());
  const script = await boot(h, UNKNOWN);
  assert.match(script, /automagic\.action=discover/);
  assert.match(script, new RegExp(`host=discovered:${UNKNOWN} action=discover`));
  const { token } = parseBootScript(script);
  // no spec (secrets), no phase 2, no uploads for a machine nobody described
  assert.equal((await fetch(`${h.url}/api/v1/run/${token}/spec`)).status, 403);
  assert.equal(
    (await fetch(`${h.url}/api/v1/run/${token}/phase2`, { method: "POST" })).status,
    403,
  );
  const order = await json(fetch(`${h.url}/api/v1/run/${token}/discover`));
  assert.deepEqual(order, { then: "reboot", mac: UNKNOWN });
  assert.equal(
    (await boot(h, UNKNOWN)).includes("automagic.token"),
    false,
    "started: a second netboot boots local",
  );
  // validated and bounded
  const bad = await post(h, token, { ...INVENTORY, disks: "many" });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /inventory: disks/);
  const huge = await post(h, token, JSON.stringify({ ...INVENTORY, pad: "x".repeat(600 * 1024) }));
  assert.equal(huge.status, 413);
  assert.deepEqual(await json(post(h, token, INVENTORY)), { stored: UNKNOWN });
  await postEvents(h, token, [
    { seq: 1, time: new Date().toISOString(), phase: 1, kind: "run-done", step: "discover" },
  ]);
  assert.equal(h.store.latestRun(`discovered:${UNKNOWN}`)?.status, "done");
  assert.match(await boot(h, UNKNOWN), /-> local \(run \d+ \(discover\) done\)/, "once only");
  // the admin side: by MAC, the inventory and a draft
  const inv = await json(fetch(`${h.url}/api/v1/admin/hosts/${UNKNOWN}/inventory`));
  assert.equal(inv.host, undefined);
  assert.deepEqual(inv.inventory, INVENTORY);
  const draft = await json(fetch(`${h.url}/api/v1/admin/hosts/${UNKNOWN}/draft`));
  assert.equal(draft.name, "new-ffffff");
  assert.match(draft.yaml, /serial: "PHYF000000001234"/);
  assert.equal(
    (await fetch(`${h.url}/api/v1/admin/hosts/52:54:00:00:00:77/inventory`)).status,
    404,
  );
});

test("a known host armed for discover: inventory under its name, shown by status", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const armed = await json(
    fetch(`${h.url}/api/v1/admin/hosts/ws1/next`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "discover" }),
    }),
  );
  assert.equal(armed.state, "armed:discover");
  const { token } = parseBootScript(await boot(h, KNOWN));
  assert.deepEqual(await json(fetch(`${h.url}/api/v1/run/${token}/discover`)), {
    then: "poweroff",
    mac: KNOWN,
    host: "ws1",
  });
  assert.deepEqual(await json(post(h, token, INVENTORY)), { stored: "ws1" });
  const status = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
  assert.match(
    status.inventory.summary,
    /^bios, 8 x Intel\(R\) Xeon\(R\) CPU E3-1230 v5 @ 3\.40GHz, 16\.0 GiB RAM, 2 disk\(s\) \[\/dev\/sdb1 home\], 2 NIC\(s\), 1 problem\(s\)$/,
  );
  const draft = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1/draft`));
  assert.equal(draft.file, "ws1.yaml");
  assert.match(draft.yaml, new RegExp(`"${KNOWN}"`), "the host's own MACs are listed too");
  // an install run's token cannot post an inventory
  h.store.arm("ws1", "install");
  const other = parseBootScript(await boot(h, KNOWN)).token;
  assert.equal((await post(h, other, INVENTORY)).status, 409);
  assert.equal((await fetch(`${h.url}/api/v1/run/${other}/discover`)).status, 409);
});
