import { test } from "node:test";
import assert from "node:assert/strict";
import { reservationFor } from "../../../server/app/reservations.ts";
import type { HostEntry, HostRegistry } from "../../../server/hosts/index.ts";

function registry(hosts: Array<{ mac: string; network: unknown }>): HostRegistry {
  const entries = hosts.map(
    (h, i) =>
      ({
        name: `h${i}`,
        file: `h${i}.yaml`,
        macs: [h.mac],
        firmware: "bios",
        groups: [],
        raw: { network: h.network },
      }) as unknown as HostEntry,
  );
  return {
    dir: "hosts",
    hosts: entries,
    byMac: (m) => entries.find((e) => e.macs.includes(m)),
    byName: (n) => entries.find((e) => e.name === n),
  };
}

test("a static host keeps its address when it netboots", () => {
  const reg = registry([
    {
      mac: "52:54:00:00:00:01",
      network: { mode: "static", address: "10.0.0.5/24", gateway: "10.0.0.1" },
    },
    { mac: "52:54:00:00:00:02", network: { mode: "dhcp" } },
  ]);
  assert.equal(reservationFor(reg, "52:54:00:00:00:01"), "10.0.0.5");
  assert.equal(reservationFor(reg, "52:54:00:00:00:02"), undefined);
  assert.equal(reservationFor(reg, "52:54:00:00:00:03"), undefined);
});
