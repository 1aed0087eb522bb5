// What the server saw, per MAC: the boot trace (DHCP -> TFTP -> script ->
// kernel/initrd -> first payload event), discovered machines and DHCP
// leases. Answers "why didn't this machine install?" after the fact.
import type { Db } from "./db.ts";

export type TraceSource = "dhcp" | "tftp" | "http" | "payload" | "policy";

export interface TraceEntry {
  id: number;
  mac: string;
  time: number;
  source: TraceSource;
  what: string;
  detail?: Record<string, unknown>;
}

export interface Discovered {
  mac: string;
  firstSeen: number;
  lastSeen: number;
  seen: number;
  arch?: string;
  uuid?: string;
  ip?: string;
  via?: string;
}

export interface Lease {
  mac: string;
  ip: string;
  expires: number;
}

/** Per-MAC trace rows kept; older ones are pruned so a boot-looping machine cannot fill the disk. */
const TRACE_KEEP = 500;

export class Observations {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  trace(mac: string, source: TraceSource, what: string, detail?: Record<string, unknown>): void {
    const m = mac.toLowerCase();
    this.db.transaction(() => {
      const id = Number(
        this.db
          .prepare("INSERT INTO trace (mac, time, source, what, detail) VALUES (?, ?, ?, ?, ?)")
          .run(m, this.now(), source, what, detail ? JSON.stringify(detail) : null).lastInsertRowid,
      );
      this.db.prepare("DELETE FROM trace WHERE mac = ? AND id <= ?").run(m, id - TRACE_KEEP);
    })();
  }

  traceFor(macs: string[], limit = 200): TraceEntry[] {
    if (macs.length === 0) return [];
    const marks = macs.map(() => "?").join(", ");
    const rows = this.db
      .prepare(
        `SELECT * FROM (SELECT * FROM trace WHERE mac IN (${marks}) ORDER BY id DESC LIMIT ?) ORDER BY id`,
      )
      .all(...macs.map((m) => m.toLowerCase()), limit) as Array<{
      id: number;
      mac: string;
      time: number;
      source: string;
      what: string;
      detail: string | null;
    }>;
    return rows.map((r) => {
      const e: TraceEntry = {
        id: r.id,
        mac: r.mac,
        time: r.time,
        source: r.source as TraceSource,
        what: r.what,
      };
      if (r.detail) e.detail = JSON.parse(r.detail) as Record<string, unknown>;
      return e;
    });
  }

  discover(mac: string, info: { arch?: string; uuid?: string; ip?: string; via?: string }): void {
    const now = this.now();
    this.db
      .prepare(
        `INSERT INTO discovered (mac, first_seen, last_seen, seen, arch, uuid, ip, via)
         VALUES (?, ?, ?, 1, ?, ?, ?, ?)
         ON CONFLICT(mac) DO UPDATE SET last_seen = excluded.last_seen, seen = seen + 1,
           arch = COALESCE(excluded.arch, arch), uuid = COALESCE(excluded.uuid, uuid),
           ip = COALESCE(excluded.ip, ip), via = COALESCE(excluded.via, via)`,
      )
      .run(
        mac.toLowerCase(),
        now,
        now,
        info.arch ?? null,
        info.uuid ?? null,
        info.ip ?? null,
        info.via ?? null,
      );
  }

  /** Discovered MACs, minus those that have since been given a host file. */
  discovered(isKnown: (mac: string) => boolean = () => false): Discovered[] {
    const rows = this.db
      .prepare("SELECT * FROM discovered ORDER BY last_seen DESC")
      .all() as Array<{
      mac: string;
      first_seen: number;
      last_seen: number;
      seen: number;
      arch: string | null;
      uuid: string | null;
      ip: string | null;
      via: string | null;
    }>;
    return rows
      .filter((r) => !isKnown(r.mac))
      .map((r) => {
        const d: Discovered = {
          mac: r.mac,
          firstSeen: r.first_seen,
          lastSeen: r.last_seen,
          seen: r.seen,
        };
        if (r.arch) d.arch = r.arch;
        if (r.uuid) d.uuid = r.uuid;
        if (r.ip) d.ip = r.ip;
        if (r.via) d.via = r.via;
        return d;
      });
  }

  /** Replaces the lease table with the DHCP server's current view. */
  saveLeases(leases: Lease[]): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM leases").run();
      const ins = this.db.prepare(
        "INSERT OR REPLACE INTO leases (mac, ip, expires) VALUES (?, ?, ?)",
      );
      for (const l of leases) ins.run(l.mac.toLowerCase(), l.ip, l.expires);
    })();
  }

  leases(): Lease[] {
    return this.db.prepare("SELECT mac, ip, expires FROM leases ORDER BY mac").all() as Lease[];
  }

  /**
   * Latest IP seen for a MAC: our lease first, then the address its last
   * traced request came from (boot.ipxe, artifacts, payload events: in proxy
   * mode the only source), then the address it was discovered at.
   */
  ipFor(mac: string): string | undefined {
    const m = mac.toLowerCase();
    const l = this.db.prepare("SELECT ip FROM leases WHERE mac = ?").get(m) as
      { ip: string } | undefined;
    if (l) return l.ip;
    const t = this.db
      .prepare(
        "SELECT json_extract(detail, '$.ip') AS ip FROM trace WHERE mac = ? AND json_extract(detail, '$.ip') IS NOT NULL ORDER BY id DESC LIMIT 1",
      )
      .get(m) as { ip: string } | undefined;
    if (t) return t.ip;
    const d = this.db.prepare("SELECT ip FROM discovered WHERE mac = ?").get(m) as
      { ip: string | null } | undefined;
    return d?.ip ?? undefined;
  }
}
