// In-memory lease state for one subnet: who holds which address until when.
// Pure apart from the injected clock; persistence is the journal's job.
import { intToIp, ipToInt } from "./ip.ts";

export interface Lease {
  mac: string;
  ip: string;
  /** Epoch milliseconds. */
  expires: number;
  /** An offer is a short hold; a bound lease was ACKed. */
  state: "offered" | "bound";
}

interface Slot {
  mac: string;
  expires: number;
  state: Lease["state"];
}

/** How long an offered address is held for the client's REQUEST. */
export const OFFER_HOLD_MS = 30_000;
/** RFC 2131 3.1.5: a declined address is in use by someone; keep it out of the pool for a while. */
export const DECLINE_HOLD_MS = 10 * 60_000;

export class LeaseTable {
  private readonly byIp = new Map<number, Slot>();
  private readonly byMac = new Map<string, number>();
  private cursor: number;
  readonly start: number;
  readonly end: number;

  constructor(
    poolStart: string,
    poolEnd: string,
    private readonly now: () => number = Date.now,
  ) {
    this.start = ipToInt(poolStart);
    this.end = ipToInt(poolEnd);
    if (this.end < this.start)
      throw new Error(`dhcp pool: end ${poolEnd} before start ${poolStart}`);
    this.cursor = this.start;
  }

  inPool(ip: string): boolean {
    const n = ipToInt(ip);
    return n >= this.start && n <= this.end;
  }

  leaseOf(mac: string): Lease | undefined {
    const n = this.byMac.get(mac);
    if (n === undefined) return undefined;
    const s = this.byIp.get(n)!;
    return { mac, ip: intToIp(n), expires: s.expires, state: s.state };
  }

  /** True if `ip` is free, expired, or already held by `mac`. */
  availableFor(ip: string, mac: string): boolean {
    const s = this.byIp.get(ipToInt(ip));
    return !s || s.mac === mac || s.expires <= this.now();
  }

  /**
   * Picks an address for `mac`: its reservation, its current lease, the
   * address it asked for, else the next free one. Does not change state.
   */
  choose(mac: string, requested?: string, reserved?: string): string | undefined {
    if (reserved) return reserved;
    const own = this.byMac.get(mac);
    if (own !== undefined) return intToIp(own);
    if (requested && this.inPool(requested) && this.availableFor(requested, mac)) return requested;
    const size = this.end - this.start + 1;
    const now = this.now();
    for (let i = 0; i < size; i += 1) {
      const n = this.cursor;
      this.cursor = n >= this.end ? this.start : n + 1;
      const s = this.byIp.get(n);
      if (!s || s.expires <= now) return intToIp(n);
    }
    return undefined;
  }

  private set(mac: string, ip: string, expires: number, state: Lease["state"]): void {
    const n = ipToInt(ip);
    const prevIp = this.byMac.get(mac);
    if (prevIp !== undefined && prevIp !== n) this.byIp.delete(prevIp);
    const prevHolder = this.byIp.get(n);
    if (prevHolder && prevHolder.mac !== mac) this.byMac.delete(prevHolder.mac);
    this.byIp.set(n, { mac, expires, state });
    this.byMac.set(mac, n);
  }

  hold(mac: string, ip: string): void {
    const cur = this.leaseOf(mac);
    // Never shorten a bound lease because the client sent a new DISCOVER.
    if (cur && cur.ip === ip && cur.state === "bound" && cur.expires > this.now()) return;
    this.set(mac, ip, this.now() + OFFER_HOLD_MS, "offered");
  }

  bind(mac: string, ip: string, seconds: number): Lease {
    const expires = this.now() + seconds * 1000;
    this.set(mac, ip, expires, "bound");
    return { mac, ip, expires, state: "bound" };
  }

  /** Restores a journalled lease (skips ones already expired). */
  restore(mac: string, ip: string, expires: number): void {
    if (expires <= this.now()) {
      const n = this.byMac.get(mac);
      if (n !== undefined && intToIp(n) === ip) {
        this.byMac.delete(mac);
        this.byIp.delete(n);
      }
      return;
    }
    this.set(mac, ip, expires, "bound");
  }

  release(mac: string): string | undefined {
    const n = this.byMac.get(mac);
    if (n === undefined) return undefined;
    this.byMac.delete(mac);
    this.byIp.delete(n);
    return intToIp(n);
  }

  decline(ip: string): void {
    const n = ipToInt(ip);
    const s = this.byIp.get(n);
    if (s) this.byMac.delete(s.mac);
    this.byIp.set(n, { mac: "declined", expires: this.now() + DECLINE_HOLD_MS, state: "bound" });
  }

  /** The MAC holding a bound, unexpired lease on `ip` (one map lookup). */
  holderOf(ip: string): string | undefined {
    let n: number;
    try {
      n = ipToInt(ip);
    } catch {
      return undefined;
    }
    const s = this.byIp.get(n);
    return s && s.state === "bound" && s.expires > this.now() && s.mac !== "declined"
      ? s.mac
      : undefined;
  }

  /** Bound, unexpired leases. */
  bound(): Lease[] {
    const now = this.now();
    const out: Lease[] = [];
    for (const [n, s] of this.byIp) {
      if (s.state === "bound" && s.expires > now && s.mac !== "declined") {
        out.push({ mac: s.mac, ip: intToIp(n), expires: s.expires, state: s.state });
      }
    }
    return out;
  }
}
