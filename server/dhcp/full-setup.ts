// What full mode needs before the first packet: no other server answering on
// the interface (unless forced), the lease journal read back into one lease
// table per subnet, and the reservation hook guarded.
import type { BootConfig } from "./boot.ts";
import type { DhcpSettings } from "./config.ts";
import type { FullContext } from "./full.ts";
import type { Log } from "../log.ts";
import type { DhcpHooks } from "./hooks.ts";
import { LeaseJournal } from "./journal.ts";
import { LeaseTable } from "./lease-table.ts";
import { probeForOtherServer } from "./probe.ts";

export async function refuseBesideOtherServer(cfg: DhcpSettings): Promise<void> {
  if (cfg.force) return;
  const other = await probeForOtherServer(cfg.interface, cfg.probeMs ?? 1500);
  if (other) {
    throw new Error(
      `dhcp: another DHCP server (${other.serverId}, from ${other.from}) answers on ` +
        `${cfg.interface}; refusing to start in full mode (use --force to override)`,
    );
  }
}

export async function openFullContext(
  cfg: DhcpSettings,
  boot: BootConfig,
  hooks: DhcpHooks,
  log: Log,
): Promise<{ full: FullContext; journal: LeaseJournal }> {
  const opened = await LeaseJournal.open(cfg.leaseFile, Date.now(), cfg.leaseSync ?? "write");
  const subnets = [cfg.subnet!, ...(cfg.relaySubnets ?? [])].map((s) => ({
    cfg: s,
    table: new LeaseTable(s.poolStart, s.poolEnd),
  }));
  for (const r of opened.records) {
    const s = subnets.find((x) => x.table.inPool(r.ip)) ?? subnets[0]!;
    s.table.restore(r.mac, r.ip, r.expires);
  }
  const full: FullContext = {
    serverIp: cfg.serverIp,
    subnets,
    boot,
    reservationFor: (mac) => {
      try {
        return hooks.reservationFor?.(mac);
      } catch (err) {
        log.error({ err, mac }, "dhcp: reservationFor hook failed; using the pool");
        return undefined;
      }
    },
  };
  return { full, journal: opened.journal };
}
