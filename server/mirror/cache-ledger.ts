// What the cache holds, in bytes per unit, when each unit was last served,
// and who is downloading it now; enforces the size limit when a verified
// unit is moved in (budget.ts decides what goes). Units from an earlier
// process are found by a scan at start, their atime standing in for "last
// served" (the kernel's relatime keeps it within a day).
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { formatBytes, makeRoom, type CachedUnit } from "./budget.ts";
import type { Log } from "../log.ts";
import { classifyMirrorPath, unitOf } from "./paths.ts";
import { STAGING } from "./staging.ts";

/** A verified unit that does not fit under mirror.maxCacheGiB; answered 507. */
export class CacheFull extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CacheFull";
  }
}

interface Entry {
  bytes: number;
  lastServedMs: number;
  files: Set<string>;
  /** A file in the cache dir that is no mirror path: counted, never removed. */
  foreign?: true;
}

export interface LedgerOptions {
  cacheDir: string;
  /** No limit when undefined. */
  limitBytes: number | undefined;
  log: Log;
  /** Which unit keys the current host files need; asked only when something may have to go. */
  inUse: () => Promise<(key: string) => boolean>;
}

export class CacheLedger {
  #units = new Map<string, Entry>();
  #serving = new Map<string, number>();
  #lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: LedgerOptions) {}

  /** Counts what is already in the cache dir (everything but .staging). */
  async scan(): Promise<void> {
    for (const rel of await walk(this.o.cacheDir, "")) {
      const st = await stat(join(this.o.cacheDir, rel)).catch(() => undefined);
      if (!st) continue;
      const c = classifyMirrorPath(`/${rel}`);
      const key = c.ok ? unitOf(c.target).key : rel;
      const e = this.#units.get(key) ?? { bytes: 0, lastServedMs: 0, files: new Set<string>() };
      e.bytes += st.size;
      e.lastServedMs = Math.max(e.lastServedMs, st.atimeMs);
      e.files.add(rel);
      if (!c.ok) e.foreign = true;
      this.#units.set(key, e);
    }
  }

  get totalBytes(): number {
    let n = 0;
    for (const e of this.#units.values()) n += e.bytes;
    return n;
  }

  /** Whether unit `key` is in the cache now. */
  has(key: string): boolean {
    return this.#units.has(key);
  }

  /** A client is being served unit `key` until `release()`: it counts as just served and is not evicted meanwhile. */
  hold(key: string): () => void {
    this.#serving.set(key, (this.#serving.get(key) ?? 0) + 1);
    const e = this.#units.get(key);
    if (e) e.lastServedMs = Date.now();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const n = (this.#serving.get(key) ?? 1) - 1;
      if (n > 0) this.#serving.set(key, n);
      else this.#serving.delete(key);
    };
  }

  /** Before a download of known size: throws CacheFull when it could not fit even after evicting all that may go. */
  async precheck(key: string, bytes: number): Promise<void> {
    if (this.o.limitBytes === undefined) return;
    const d = makeRoom(await this.#candidates(key), bytes, this.o.limitBytes);
    if (!d.ok) throw new CacheFull(`${key}: ${d.reason}`);
  }

  /**
   * Makes room for the staged `files` of unit `key` (evicting least recently
   * served unused units), runs `install` (the renames into the cache) and
   * records the unit, all under one lock so two admissions never both count
   * on the same free bytes. A unit replaced by a newer copy (a refreshed
   * pointer) frees its old bytes. Throws CacheFull when it cannot fit.
   */
  async admit(
    key: string,
    files: Array<{ rel: string; staged: string }>,
    install: () => Promise<void>,
  ): Promise<void> {
    let bytes = 0;
    for (const f of files) bytes += (await stat(f.staged)).size;
    await this.#exclusive(async () => {
      if (this.o.limitBytes !== undefined) {
        const d = makeRoom(await this.#candidates(key), bytes, this.o.limitBytes);
        if (!d.ok) throw new CacheFull(`${key}: ${d.reason}`);
        for (const u of d.evict) await this.#evict(u);
      }
      await install();
      this.#units.set(key, {
        bytes,
        lastServedMs: Date.now(),
        files: new Set(files.map((f) => f.rel)),
      });
    });
  }

  async #candidates(replacing: string): Promise<CachedUnit[]> {
    const inUse = await this.o.inUse();
    return [...this.#units]
      .filter(([k]) => k !== replacing)
      .map(([key, e]) => ({
        key,
        bytes: e.bytes,
        lastServedMs: e.lastServedMs,
        inUse: e.foreign === true || inUse(key),
        serving: this.#serving.has(key),
      }));
  }

  async #evict(u: CachedUnit): Promise<void> {
    const e = this.#units.get(u.key);
    if (!e) return;
    // Data first, signatures last: the reverse of the order they came in.
    for (const rel of [...e.files].sort((a, b) => a.length - b.length))
      await rm(join(this.o.cacheDir, rel), { force: true });
    this.#units.delete(u.key);
    this.o.log.info(
      {
        evicted: u.key,
        bytes: u.bytes,
        lastServed: new Date(u.lastServedMs).toISOString(),
        limit: formatBytes(this.o.limitBytes ?? 0),
      },
      "mirror: evicted to stay under the cache limit",
    );
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#lock.then(fn);
    this.#lock = p.catch(() => {});
    return p;
  }
}

async function walk(root: string, pre: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, pre), { withFileTypes: true }).catch(() => [])) {
    const rel = pre ? `${pre}/${e.name}` : e.name;
    if (!pre && e.name === STAGING) continue;
    if (e.isDirectory()) out.push(...(await walk(root, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}
