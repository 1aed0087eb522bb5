import { test } from "node:test";
import assert from "node:assert/strict";
import { inCidr, proveAddress } from "../../../server/policy/address.ts";

const MAC = "52:54:00:aa:00:01";

test("proveAddress: our lease or the neighbour entry for that MAC proves the address", () => {
  const base = { ip: "10.0.0.5", macs: [MAC], allowFrom: [] };
  assert.deepEqual(proveAddress({ ...base, owner: { mac: MAC, via: "lease" } }), {
    ok: true,
    via: "lease",
  });
  assert.deepEqual(proveAddress({ ...base, owner: { mac: MAC, via: "neighbour" } }), {
    ok: true,
    via: "neighbour",
  });
});

test("proveAddress: another machine's address, or an unknown one, is refused naming both", () => {
  const other = proveAddress({
    ip: "10.0.0.9",
    macs: [MAC],
    owner: { mac: "52:54:00:bb:00:01", via: "neighbour" },
    allowFrom: [],
  });
  assert.equal(other.ok, false);
  assert.match(
    (other as { reason: string }).reason,
    /neighbour table says 10\.0\.0\.9 is 52:54:00:bb:00:01, not 52:54:00:aa:00:01/,
  );
  const unknown = proveAddress({ ip: "10.9.0.9", macs: [MAC], owner: undefined, allowFrom: [] });
  assert.match(
    (unknown as { reason: string }).reason,
    /10\.9\.0\.9 is in neither our DHCP leases nor the neighbour table.*netboot\.allowFrom/,
  );
  assert.equal(
    proveAddress({ ip: undefined, macs: [MAC], owner: undefined, allowFrom: ["0.0.0.0/0"] }).ok,
    false,
  );
});

test("proveAddress: a relayed machine is accepted only from its host file's allowFrom", () => {
  const p = { ip: "10.2.0.7", macs: [MAC], owner: undefined };
  assert.equal(proveAddress({ ...p, allowFrom: ["10.2.0.0/24"] }).ok, true);
  assert.equal(proveAddress({ ...p, allowFrom: ["10.2.1.0/24", "10.2.0.8"] }).ok, false);
  assert.equal(proveAddress({ ...p, allowFrom: ["10.2.0.7"] }).ok, true);
});

test("proveAddress: the run's boot address is accepted for the payload's first call", () => {
  const r = proveAddress({
    ip: "10.0.0.5",
    macs: [MAC],
    owner: undefined,
    allowFrom: [],
    bootIp: "10.0.0.5",
  });
  assert.deepEqual(r, { ok: true, via: "boot address" });
});

test("inCidr", () => {
  assert.equal(inCidr("192.168.1.200", "192.168.1.0/24"), true);
  assert.equal(inCidr("192.168.2.1", "192.168.1.0/24"), false);
  assert.equal(inCidr("127.0.0.1", "127.0.0.1"), true);
  assert.equal(inCidr("::1", "0.0.0.0/0"), false);
});
