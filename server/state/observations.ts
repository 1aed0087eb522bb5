// What the server saw, per MAC: the boot trace (DHCP -> TFTP -> script ->
// kernel/initrd -> first payload event), discovered machines and DHCP
// leases. Answers "why didn't this machine install?" after the fact.
//
// Every row here is caused by unauthenticated traffic, so its cost is
// bounded: rows wait in memory until the event loop's current turn ends and
// are then written in one transaction without fsync (synchronous = NORMAL:
// a kill -9 loses nothing, a power loss may lose the last seconds), each MAC
// may add TRACE_PER_MAC rows per second, the queue and the tables have caps,
// and older rows are pruned. Actions, runs, tokens and events
// (server/state/store.ts) are fsync'd at every commit.
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
/** Trace rows kept in all (random MACs cannot fill the disk either). */
export const TRACE_MAX = 100_000;
/** Discovered machines kept, the most recently seen. */
export const DISCOVERED_MAX = 5_000;
/** Trace rows one MAC may add per WINDOW_MS; more are counted as dropped. */
const TRACE_PER_MAC = 30;
const WINDOW_MS = 1000;
/** Rows (trace + discovered) waiting for the next flush; more are dropped. */
const PENDING_MAX = 20_000;

interface PendingTrace {
  mac: string;
  time: number;
  source: TraceSource;
  what: string;
  detail: string | null;
}

interface PendingDiscovery {
  first: number;
  last: number;
  seen: number;
  info: { arch?: string; uuid?: string; ip?: string; via?: string };
}

export class Observations {
  private traces: PendingTrace[] = [];
  private perMac = new Map<string, number>();
  private discoveries = new Map<string, PendingDiscovery>();
  private readonly timer: NodeJS.Timeout;
  private scheduled = false;
  /** Rows refused by the rate limits and caps since start (shown in logs and metrics). */
  dropped = 0;

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {
    this.timer = setInterval(() => this.perMac.clear(), WINDOW_MS);
    this.timer.unref();
  }

  /** One flush at the end of the current event-loop turn, for everything queued in it. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Writes what is pending (one transaction, no fsync); reads call it first, `close` last. */
  flush(): void {
    if (this.traces.length === 0 && this.discoveries.size === 0) return;
    const traces = this.traces;
    const discoveries = this.discoveries;
    this.traces = [];
    this.discoveries = new Map();
    this.db.pragma("synchronous = NORMAL");
    try {
      this.write(traces, discoveries);
    } finally {
      this.db.pragma("synchronous = FULL");
    }
  }

  private write(traces: PendingTrace[], discoveries: Map<string, PendingDiscovery>): void {
    this.db.transaction(() => {
      const ins = this.db.prepare(
        "INSERT INTO trace (mac, time, source, what, detail) VALUES (?, ?, ?, ?, ?)",
      );
      let last = 0;
      const lastByMac = new Map<string, number>();
      for (const t of traces) {
        last = Number(ins.run(t.mac, t.time, t.source, t.what, t.detail).lastInsertRowid);
        lastByMac.set(t.mac, last);
      }
      const prune = this.db.prepare("DELETE FROM trace WHERE mac = ? AND id <= ?");
      for (const [mac, id] of lastByMac) prune.run(mac, id - TRACE_KEEP);
      if (last > TRACE_MAX)
        this.db.prepare("DELETE FROM trace WHERE id <= ?").run(last - TRACE_MAX);
      const up = this.db.prepare(
        `INSERT INTO discovered (mac, first_seen, last_seen, seen, arch, uuid, ip, via)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(mac) DO UPDATE SET last_seen = excluded.last_seen, seen = seen + excluded.seen,
           arch = COALESCE(excluded.arch, arch), uuid = COALESCE(excluded.uuid, uuid),
           ip = COALESCE(excluded.ip, ip), via = COALESCE(excluded.via, via)`,
      );
      for (const [mac, d] of discoveries) {
        const i = d.info;
        up.run(
          mac,
          d.first,
          d.last,
          d.seen,
          i.arch ?? null,
          i.uuid ?? null,
          i.ip ?? null,
          i.via ?? null,
        );
      }
      if (discoveries.size > 0) {
        this.db
          .prepare(
            "DELETE FROM discovered WHERE mac IN (SELECT mac FROM discovered ORDER BY last_seen DESC LIMIT -1 OFFSET ?)",
          )
          .run(DISCOVERED_MAX);
      }
    })();
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private room(): boolean {
    if (this.traces.length + this.discoveries.size < PENDING_MAX) return true;
    this.dropped += 1;
    return false;
  }

  trace(mac: string, source: TraceSource, what: string, detail?: Record<string, unknown>): void {
    const m = mac.toLowerCase();
    const n = this.perMac.get(m) ?? 0;
    if (n >= TRACE_PER_MAC || !this.room()) {
      if (n >= TRACE_PER_MAC) this.dropped += 1;
      return;
    }
    this.perMac.set(m, n + 1);
    this.traces.push({
      mac: m,
      time: this.now(),
      source,
      what,
      detail: detail ? JSON.stringify(detail) : null,
    });
    this.schedule();
  }

  traceFor(macs: string[], limit = 200): TraceEntry[] {
    this.flush();
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
    const m = mac.toLowerCase();
    const d = this.discoveries.get(m);
    if (d) {
      d.last = now;
      d.seen += 1;
      d.info = { ...d.info, ...info };
      return;
    }
    if (!this.room()) return;
    this.discoveries.set(m, { first: now, last: now, seen: 1, info });
    this.schedule();
  }

  /** Discovered MACs, minus those that have since been given a host file. */
  discovered(isKnown: (mac: string) => boolean = () => false): Discovered[] {
    this.flush();
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

  /**
   * Latest IP seen for a MAC: our lease first, then the address its last
   * traced request came from (boot.ipxe, artifacts, payload events: in proxy
   * mode the only source), then the address it was discovered at.
   */
  ipFor(mac: string): string | undefined {
    this.flush();
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
