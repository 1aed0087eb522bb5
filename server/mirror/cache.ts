// The verifying cache. A file appears under cacheDir only after it passed
// verification (it is downloaded into cacheDir/.staging and renamed in), so
// "present in the cache" means "verified". Units are verified together:
//   pointer         latest-stage3-amd64-<v>.txt (clearsigned)
//   stage3          tarball + .asc + .DIGESTS (signature, signed digests, SHA512/BLAKE2B)
//   snapshot        gentoo-latest.tar.xz + .gpgsig
//   binindex/binpkg the binhost's Packages index and its gpkgs (binhost.ts)
// Concurrent requests for one unit share one fetch. The ledger keeps the
// cache under mirror.maxCacheGiB; the gate (when given) says what the host
// files use, which is never evicted.
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { digestMismatch, expectedDigests, parseDigests } from "../../shared/verify/digests.ts";
import { withKeyring, type Keyring } from "../../shared/verify/gpg.ts";
import { hashFile } from "../../shared/verify/hash.ts";
import { AUTOBUILDS, SNAPSHOT, SNAPSHOT_SIG, pointerPath } from "../../shared/verify/layout.ts";
import { parseLatestPointer, type Stage3Pointer } from "../../shared/verify/pointer.ts";
import { Binhost } from "./binhost.ts";
import { bucketOf, distIndexOf, LAYOUT_CONF, NotInTree, type DistEntry } from "./distfiles.ts";
import { writeFileAtomic } from "../../shared/durable.ts";
import { silentLog, type Log } from "../log.ts";
import { CacheLedger } from "./cache-ledger.ts";
import type { MirrorConfig } from "./config.ts";
import type { MirrorGate } from "./gate.ts";
import { BINPACKAGES, safeResolve, unitOf, type MirrorTarget } from "./paths.ts";
import { cleanStaleStaging, withStaging } from "./staging.ts";
import { createUpstream, UpstreamMissing, type Upstream } from "./upstream.ts";
import { UpstreamHealth } from "./upstream-health.ts";

export interface MirrorCacheOptions {
  log?: Log;
  /** Replace the configured upstreams (tests); the binhost defaults to `upstream`. */
  upstream?: Upstream;
  binhostUpstream?: Upstream;
  /**
   * What the host files use and which run tokens are valid. Without it every
   * mirror path may be fetched and nothing counts as in use (`mirror sync`).
   */
  gate?: MirrorGate;
}

/** One download of a unit: the files, in order, and how large each may get. */
export interface StageRequest {
  key: string;
  rels: string[];
  upstream: Upstream;
  maxBytes?: (rel: string) => number | undefined;
  /** Known size (from a pointer or an index entry): checked against the limit before downloading. */
  expectBytes?: number | undefined;
  /** Throws when the staged files (same order as `rels`) must not be kept. */
  check: (staged: string[]) => Promise<void>;
  what: string;
}

/** Counted as requests come and downloads end; read by /metrics. */
export interface MirrorStats {
  /** Requests whose unit was in the cache when they came. */
  hits: number;
  misses: number;
  /** Downloads from the main upstream (each unit once): all, not there, failed otherwise. */
  upstreamFetches: number;
  upstreamMissing: number;
  upstreamFailures: number;
}

const SMALL = 1 << 20; // pointer, signatures, DIGESTS
const GiB = 1 << 30;

export class MirrorCache {
  readonly cfg: MirrorConfig;
  readonly upstream: Upstream;
  readonly log: Log;
  readonly binhost: Binhost;
  readonly gate: MirrorGate | undefined;
  /** Reachability of the main upstream, learned from downloads (upstream-health.ts). */
  readonly upstreamHealth: UpstreamHealth;
  #stats: MirrorStats = {
    hits: 0,
    misses: 0,
    upstreamFetches: 0,
    upstreamMissing: 0,
    upstreamFailures: 0,
  };
  #inflight = new Map<string, Promise<unknown>>();
  #pointers = new Map<string, { mtimeMs: number; size: number; pointer: Stage3Pointer }>();
  #dist: { mtimeMs: number; index: Map<string, DistEntry> } | undefined;
  #ledger: CacheLedger;
  #opened: Promise<void>;

  constructor(cfg: MirrorConfig, opts: MirrorCacheOptions = {}) {
    this.cfg = cfg;
    this.log = opts.log ?? silentLog;
    this.gate = opts.gate;
    this.upstream = opts.upstream ?? createUpstream(cfg.upstream);
    const up = this.upstream;
    this.upstreamHealth = new UpstreamHealth({ probe: up.probe && (() => up.probe!()) });
    this.#ledger = new CacheLedger({
      cacheDir: cfg.cacheDir,
      limitBytes: cfg.maxCacheGiB === undefined ? undefined : Math.floor(cfg.maxCacheGiB * GiB),
      log: this.log,
      inUse: () => this.#inUse(),
    });
    this.binhost = new Binhost({
      cacheDir: cfg.cacheDir,
      refreshSeconds: cfg.refreshSeconds,
      upstream:
        opts.binhostUpstream ??
        (cfg.binhostUpstream ? createUpstream(cfg.binhostUpstream) : this.upstream),
      log: this.log,
      once: (key, fn) => this.#once(key, fn),
      stage: (req) => this.#stage(req),
    });
    // At start: what a crashed process left in .staging goes, what is cached is counted.
    this.#opened = this.#open();
    this.#opened.catch(() => {}); // reported by whoever awaits it
  }

  /** Settles once stale staging is removed and the cache's contents are counted. */
  ready(): Promise<void> {
    return this.#opened;
  }

  async #open(): Promise<void> {
    try {
      await cleanStaleStaging(this.cfg.cacheDir, this.log);
    } catch (err) {
      this.log.warn({ err, cacheDir: this.cfg.cacheDir }, "mirror: cannot clean stale staging");
    }
    await this.#ledger.scan();
  }

  /**
   * Marks `target`'s unit as being served until the returned function runs:
   * it counts as just served and is not evicted meanwhile. Call before
   * resolve(), so nothing can evict it between resolving and sending.
   * The request is counted as a cache hit or miss here (keys are not cached).
   */
  hold(target: MirrorTarget): () => void {
    const key = unitOf(target).key;
    if (target.kind !== "key") this.#stats[this.#ledger.has(key) ? "hits" : "misses"] += 1;
    return this.#ledger.hold(key);
  }

  stats(): MirrorStats {
    return { ...this.#stats };
  }

  /**
   * Settles once nothing is being fetched, including the background stage3
   * warm-up a pointer request starts: callers that remove the cache dir
   * (tests, shutdown) wait for this first, or a late download recreates it.
   */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight.values()]);
  }

  /**
   * Absolute path of a verified file for `target`, fetching and verifying it
   * first when needed; with `fetch: false` only what is already cached
   * (its whole unit) is returned, and upstream is never asked.
   */
  async resolve(target: MirrorTarget, opts: { fetch?: boolean } = {}): Promise<string | undefined> {
    await this.#opened;
    if (target.kind === "key")
      return (await exists(this.cfg.keysDir))
        ? safeResolve(this.cfg.keysDir, `${target.fingerprint}.asc`)
        : undefined;
    if (opts.fetch === false) {
      if (!(await allExist(this.cfg.cacheDir, unitOf(target).files))) return undefined;
      return safeResolve(this.cfg.cacheDir, target.rel);
    }
    switch (target.kind) {
      case "pointer": {
        const p = await this.ensurePointer(target.variant);
        // Warm the stage it names, so the payload's next request finds it ready.
        const [stamp = ""] = p.path.split("/");
        this.ensureStage3(`${AUTOBUILDS}/${p.path}`).catch((err: unknown) =>
          this.log.warn(
            { err, variant: target.variant, stamp },
            "mirror: background stage3 fetch failed",
          ),
        );
        break;
      }
      case "stage3":
        await this.ensureStage3(target.tarballRel);
        break;
      case "snapshot":
        await this.ensureSnapshot();
        break;
      case "dated":
        await this.ensureDatedSnapshot(target.tarballRel);
        break;
      case "distlayout":
        await this.#ensureLayoutConf(target.rel);
        break;
      case "distfile":
        await this.ensureDistfile(target.rel, target.bucket, target.name);
        break;
      case "binindex":
        await this.binhost.ensureIndex(target.release, target.isa);
        break;
      case "binpkg":
        await this.binhost.ensurePackage(target);
        break;
    }
    await mkdir(this.cfg.cacheDir, { recursive: true });
    return safeResolve(this.cfg.cacheDir, target.rel);
  }

  /** The verified pointer for `variant`, re-fetched when older than refreshSeconds (stale copy kept if upstream fails). */
  async ensurePointer(variant: string, force = false): Promise<Stage3Pointer> {
    const rel = pointerPath(variant);
    return this.#once(rel, async () => {
      const cached = join(this.cfg.cacheDir, rel);
      if (!force && (await this.#fresh(cached))) return this.#readPointer(cached, variant);
      try {
        await this.#fetchUnit(rel, [rel], async (k, staged) => {
          const v = await k.verifyClearsigned(staged[0] as string);
          parseLatestPointer(v.text, variant, rel);
        });
      } catch (err) {
        if (!existsSync(cached)) throw err;
        this.log.warn({ err, rel }, "mirror: refresh failed, serving the verified copy");
      }
      return this.#readPointer(cached, variant);
    });
  }

  /** Tarball + .asc + .DIGESTS of one dated build; immutable once verified. */
  async ensureStage3(tarballRel: string): Promise<void> {
    await this.#once(tarballRel, async () => {
      if (
        await allExist(this.cfg.cacheDir, [
          tarballRel,
          `${tarballRel}.asc`,
          `${tarballRel}.DIGESTS`,
        ])
      )
        return;
      const name = tarballRel.slice(tarballRel.lastIndexOf("/") + 1);
      await this.#fetchUnit(
        tarballRel,
        [tarballRel, `${tarballRel}.asc`, `${tarballRel}.DIGESTS`],
        async (k, [tar, asc, dig]) => {
          await k.verifyDetached(asc as string, tar as string);
          const d = await k.verifyClearsigned(dig as string);
          const bad = digestMismatch(
            expectedDigests(parseDigests(d.text, `${tarballRel}.DIGESTS`), name),
            await hashFile(tar as string),
            tarballRel,
          );
          if (bad) throw new Error(bad);
        },
      );
    });
  }

  /** gentoo-latest.tar.xz + .gpgsig, refreshed like the pointers. */
  async ensureSnapshot(force = false): Promise<void> {
    await this.#once(SNAPSHOT, async () => {
      const cached = join(this.cfg.cacheDir, SNAPSHOT);
      if (
        !force &&
        existsSync(join(this.cfg.cacheDir, SNAPSHOT_SIG)) &&
        (await this.#fresh(cached))
      )
        return;
      try {
        await this.#fetchUnit(SNAPSHOT, [SNAPSHOT, SNAPSHOT_SIG], async (k, [tar, sig]) => {
          await k.verifyDetached(sig as string, tar as string);
        });
      } catch (err) {
        if (!existsSync(cached)) throw err;
        this.log.warn({ err, rel: SNAPSHOT }, "mirror: refresh failed, serving the verified copy");
      }
    });
  }

  /**
   * emerge-webrsync's gentoo-YYYYMMDD.tar.xz + .gpgsig + .md5sum: the
   * signature is checked against the snapshot key, the .md5sum must name the
   * tarball with its MD5 (emerge-webrsync checks both again). Immutable.
   */
  async ensureDatedSnapshot(tarballRel: string): Promise<void> {
    const files = [tarballRel, `${tarballRel}.gpgsig`, `${tarballRel}.md5sum`];
    await this.#once(tarballRel, async () => {
      if (await allExist(this.cfg.cacheDir, files)) return;
      const name = tarballRel.slice(tarballRel.lastIndexOf("/") + 1);
      await this.#fetchUnit(tarballRel, files, async (k, [tar, sig, md5]) => {
        await k.verifyDetached(sig as string, tar as string);
        const [want = "", named = ""] = (await readFile(md5 as string, "utf8")).trim().split(/\s+/);
        const got = createHash("md5")
          .update(await readFile(tar as string))
          .digest("hex");
        if (named.replace(/^\*/, "") !== name || want.toLowerCase() !== got)
          throw new Error(`${tarballRel}.md5sum: does not say "${got}  ${name}"`);
      });
    });
  }

  /**
   * A source tarball the verified tree's Manifests name (distfiles.ts): its
   * size bounds the download, size, BLAKE2B and SHA512 must match before it
   * is cached. Immutable once cached.
   */
  async ensureDistfile(rel: string, bucket: string, name: string): Promise<void> {
    await this.#once(rel, async () => {
      if (await allExist(this.cfg.cacheDir, [rel])) return;
      if (bucketOf(name) !== bucket)
        throw new NotInTree(rel, `${name} belongs under distfiles/${bucketOf(name)}/`);
      const entry = (await this.#distIndex()).get(name);
      if (!entry) throw new NotInTree(rel, "no Manifest in the verified tree names it");
      await this.#stage({
        key: rel,
        rels: [rel],
        upstream: this.upstream,
        maxBytes: () => entry.size,
        expectBytes: entry.size,
        check: async ([file]) => {
          const d = await hashFile(file as string);
          if (d.bytes !== entry.size || d.blake2b !== entry.blake2b || d.sha512 !== entry.sha512)
            throw new Error(
              `${rel}: size or digest mismatch against the tree's Manifest (${d.bytes} bytes, want ${entry.size})`,
            );
        },
        what: "checked against the tree's Manifest",
      });
    });
  }

  /** The DIST entries of the cached snapshot's Manifests, read again when the snapshot changes. */
  async #distIndex(): Promise<Map<string, DistEntry>> {
    await this.ensureSnapshot();
    const file = join(this.cfg.cacheDir, SNAPSHOT);
    const { mtimeMs } = await stat(file);
    if (this.#dist?.mtimeMs !== mtimeMs) this.#dist = { mtimeMs, index: await distIndexOf(file) };
    return this.#dist.index;
  }

  async #ensureLayoutConf(rel: string): Promise<void> {
    const file = join(this.cfg.cacheDir, rel);
    if (existsSync(file)) return;
    await mkdir(dirname(file), { recursive: true });
    await writeFileAtomic(file, LAYOUT_CONF);
  }

  async #readPointer(path: string, variant: string): Promise<Stage3Pointer> {
    // The cached pointer is verified; gpg runs again only when the file changed,
    // to get gpg's view of the signed text rather than parsing the raw file.
    const st = await stat(path);
    const memo = this.#pointers.get(path);
    if (memo && memo.mtimeMs === st.mtimeMs && memo.size === st.size) return memo.pointer;
    const pointer = await withKeyring(this.#keyFiles(), this.cfg.trustedKeys, async (k) =>
      parseLatestPointer((await k.verifyClearsigned(path)).text, variant, path),
    );
    this.#pointers.set(path, { mtimeMs: st.mtimeMs, size: st.size, pointer });
    return pointer;
  }

  async #fresh(path: string): Promise<boolean> {
    try {
      return (Date.now() - (await stat(path)).mtimeMs) / 1000 < this.cfg.refreshSeconds;
    } catch {
      return false;
    }
  }

  #keyFiles(): string[] {
    const files = this.cfg.trustedKeys
      .map((f) => join(this.cfg.keysDir, `${f}.asc`))
      .filter((f) => existsSync(f));
    if (files.length === 0)
      throw new Error(
        `${this.cfg.keysDir}: none of the trusted keys (${this.cfg.trustedKeys.join(", ")}) has a <FPR>.asc here`,
      );
    return files;
  }

  /** A signed unit: downloaded, verified with the pinned keys, then moved in (#stage). */
  async #fetchUnit(
    key: string,
    rels: string[],
    verify: (k: Keyring, staged: string[]) => Promise<void>,
  ): Promise<void> {
    await this.#stage({
      key,
      rels,
      upstream: this.upstream,
      maxBytes: (rel) => (rel.endsWith(".tar.xz") ? undefined : SMALL),
      expectBytes: this.#knownSize(key),
      check: (staged) =>
        withKeyring(this.#keyFiles(), this.cfg.trustedKeys, (k) => verify(k, staged)),
      what: "verified",
    });
  }

  /**
   * Downloads `rels` into a private staging dir, runs `check`, and only then
   * renames them into the cache, making room under the size limit first.
   */
  async #stage(r: StageRequest): Promise<void> {
    await this.#opened;
    if (r.expectBytes !== undefined) await this.#ledger.precheck(r.key, r.expectBytes);
    await withStaging(this.cfg.cacheDir, async (dir) => {
      const staged = r.rels.map((rel) => join(dir, rel.replaceAll("/", "__")));
      const t0 = Date.now();
      await this.#download(r, staged);
      await r.check(staged);
      const files = r.rels.map((rel, i) => ({ rel, staged: staged[i] as string }));
      await this.#ledger.admit(r.key, files, async () => {
        // Signatures first, data last: a reader that sees the data finds its signature.
        for (const f of [...files].reverse()) {
          const dest = join(this.cfg.cacheDir, f.rel);
          await mkdir(dirname(dest), { recursive: true });
          await rename(f.staged, dest);
        }
      });
      this.log.info(
        { rels: r.rels, ms: Date.now() - t0, upstream: r.upstream.describe },
        `mirror: ${r.what} and cached`,
      );
    });
  }

  /** The upstream part of #stage, its outcome counted and noted for /healthz. */
  async #download(r: StageRequest, staged: string[]): Promise<void> {
    const main = r.upstream === this.upstream;
    if (main) this.#stats.upstreamFetches += 1;
    try {
      for (const [i, rel] of r.rels.entries())
        await r.upstream.fetch(rel, staged[i] as string, r.maxBytes?.(rel));
      if (main) this.upstreamHealth.note(true, "last download from upstream ok");
    } catch (err) {
      // "Not on upstream" is an answer: the upstream is there.
      const reached = err instanceof UpstreamMissing;
      if (main) this.#stats[reached ? "upstreamMissing" : "upstreamFailures"] += 1;
      if (main)
        this.upstreamHealth.note(
          reached,
          reached ? "upstream answered" : `last download failed: ${(err as Error).message}`,
        );
      throw err;
    }
  }

  /** The tarball size a verified pointer announced for `tarballRel`, if one was read. */
  #knownSize(tarballRel: string): number | undefined {
    for (const { pointer } of this.#pointers.values())
      if (`${AUTOBUILDS}/${pointer.path}` === tarballRel) return pointer.size;
    return undefined;
  }

  /** Unit keys the current host files need: their pointers and the builds those name, the snapshot, binhost indexes. */
  async #inUse(): Promise<(key: string) => boolean> {
    const d = this.gate?.demand();
    if (!d) return () => false;
    const keys = new Set<string>();
    if (d.variants.size > 0) keys.add(SNAPSHOT);
    for (const variant of d.variants) {
      const rel = pointerPath(variant);
      keys.add(rel);
      const cached = join(this.cfg.cacheDir, rel);
      if (!existsSync(cached)) continue;
      try {
        keys.add(`${AUTOBUILDS}/${(await this.#readPointer(cached, variant)).path}`);
      } catch (err) {
        this.log.warn({ err, rel }, "mirror: cannot read the cached pointer");
      }
    }
    for (const b of d.binhosts) keys.add(`${BINPACKAGES}/${b}/Packages`);
    return (key) => keys.has(key);
  }

  async #once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = fn().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function allExist(root: string, rels: string[]): Promise<boolean> {
  for (const r of rels) if (!(await exists(join(root, r)))) return false;
  return true;
}
