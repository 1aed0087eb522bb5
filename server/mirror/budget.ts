// The cache's size limit as a pure decision: given what is cached, which
// units to remove so a new one fits. Pure; cache-ledger.ts does the I/O.
//
// Only units no current host file needs and nobody is downloading right now
// are candidates, least recently served first. In-use units are never
// evicted to make room: with a limit too small for what the host files need
// the cache would fetch the same stage3 again for every install (thrash),
// which is exactly the upstream cost the limit is there to bound. Refusing
// with the numbers tells the operator to raise the limit instead.

/** One cache unit (a stage3 with its .asc and .DIGESTS, a pointer, a gpkg, ...). */
export interface CachedUnit {
  key: string;
  bytes: number;
  /** When it was last served (or, for units from a previous process, its atime). */
  lastServedMs: number;
  /** A current host file needs it (its variant's stage3, pointer, binhost index, the snapshot). */
  inUse: boolean;
  /** A client is downloading it at this moment. */
  serving: boolean;
}

export type RoomDecision = { ok: true; evict: CachedUnit[] } | { ok: false; reason: string };

/** Which of `cached` to evict so `needBytes` more fit under `limitBytes`, or why they cannot. */
export function makeRoom(
  cached: readonly CachedUnit[],
  needBytes: number,
  limitBytes: number,
): RoomDecision {
  const total = cached.reduce((n, u) => n + u.bytes, 0);
  let over = total + needBytes - limitBytes;
  if (over <= 0) return { ok: true, evict: [] };
  const candidates = cached
    .filter((u) => !u.inUse && !u.serving)
    .sort((a, b) => a.lastServedMs - b.lastServedMs || a.key.localeCompare(b.key));
  const evict: CachedUnit[] = [];
  for (const u of candidates) {
    if (over <= 0) break;
    evict.push(u);
    over -= u.bytes;
  }
  if (over <= 0) return { ok: true, evict };
  const pinned = cached.filter((u) => u.inUse || u.serving).reduce((n, u) => n + u.bytes, 0);
  return {
    ok: false,
    reason:
      `${formatBytes(needBytes)} does not fit under the cache limit of ${formatBytes(limitBytes)}: ` +
      `${formatBytes(total)} cached, ${formatBytes(pinned)} of it in use by host files or being served`,
  };
}

/** 0 B, 512 B, 3.5 KiB, 60.1 MiB, 2.00 GiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}
