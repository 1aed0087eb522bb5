// The verifying cache. A file appears under cacheDir only after it passed
// verification (it is downloaded into cacheDir/.staging and renamed in), so
// "present in the cache" means "verified". Units are verified together:
//   pointer         latest-stage3-amd64-<v>.txt (clearsigned)
//   stage3          tarball + .asc + .DIGESTS (signature, signed digests, SHA512/BLAKE2B)
//   snapshot        gentoo-latest.tar.xz + .gpgsig
//   binindex/binpkg the binhost's Packages index and its gpkgs (binhost.ts)
// Concurrent requests for one unit share one fetch.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { digestMismatch, expectedDigests, parseDigests } from "../../payload/verify/digests.ts";
import { withKeyring, type Keyring } from "../../payload/verify/gpg.ts";
import { hashFile } from "../../payload/verify/hash.ts";
import { AUTOBUILDS, SNAPSHOT, SNAPSHOT_SIG, pointerPath } from "../../payload/verify/layout.ts";
import { parseLatestPointer, type Stage3Pointer } from "../../payload/verify/pointer.ts";
import { Binhost } from "./binhost.ts";
import type { MirrorConfig } from "./config.ts";
import { safeResolve, type MirrorTarget } from "./paths.ts";
import { createUpstream, type Upstream } from "./upstream.ts";

export interface MirrorLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const silent: MirrorLog = { info() {}, warn() {} };
const SMALL = 1 << 20; // pointer, signatures, DIGESTS

export class MirrorCache {
  readonly cfg: MirrorConfig;
  readonly upstream: Upstream;
  readonly log: MirrorLog;
  readonly binhost: Binhost;
  #inflight = new Map<string, Promise<unknown>>();
  #pointers = new Map<string, { mtimeMs: number; size: number; pointer: Stage3Pointer }>();

  /** `upstream`/`binhostUpstream` replace the configured ones (tests); the binhost defaults to `upstream`. */
  constructor(
    cfg: MirrorConfig,
    log: MirrorLog = silent,
    upstream?: Upstream,
    binhostUpstream?: Upstream,
  ) {
    this.cfg = cfg;
    this.log = log;
    this.upstream = upstream ?? createUpstream(cfg.upstream);
    this.binhost = new Binhost({
      cacheDir: cfg.cacheDir,
      refreshSeconds: cfg.refreshSeconds,
      upstream:
        binhostUpstream ??
        (cfg.binhostUpstream ? createUpstream(cfg.binhostUpstream) : this.upstream),
      log,
      once: (key, fn) => this.#once(key, fn),
    });
  }

  /**
   * Settles once nothing is being fetched, including the background stage3
   * warm-up a pointer request starts: callers that remove the cache dir
   * (tests, shutdown) wait for this first, or a late download recreates it.
   */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight.values()]);
  }

  /** Absolute path of a verified file for `target`, fetching and verifying it first when needed. */
  async resolve(target: MirrorTarget): Promise<string | undefined> {
    switch (target.kind) {
      case "key":
        return (await exists(this.cfg.keysDir))
          ? safeResolve(this.cfg.keysDir, `${target.fingerprint}.asc`)
          : undefined;
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
        await this.#fetchUnit([rel], async (k, staged) => {
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
        await this.#fetchUnit([SNAPSHOT, SNAPSHOT_SIG], async (k, [tar, sig]) => {
          await k.verifyDetached(sig as string, tar as string);
        });
      } catch (err) {
        if (!existsSync(cached)) throw err;
        this.log.warn({ err, rel: SNAPSHOT }, "mirror: refresh failed, serving the verified copy");
      }
    });
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

  /** Downloads `rels` into a private staging dir, runs `verify`, and only then renames them into the cache. */
  async #fetchUnit(
    rels: string[],
    verify: (k: Keyring, staged: string[]) => Promise<void>,
  ): Promise<void> {
    const staging = join(this.cfg.cacheDir, ".staging", randomBytes(6).toString("hex"));
    await mkdir(staging, { recursive: true });
    try {
      const staged = rels.map((r) => join(staging, r.replaceAll("/", "__")));
      const t0 = Date.now();
      for (const [i, rel] of rels.entries()) {
        const big = rel.endsWith(".tar.xz");
        await this.upstream.fetch(rel, staged[i] as string, big ? undefined : SMALL);
      }
      await withKeyring(this.#keyFiles(), this.cfg.trustedKeys, (k) => verify(k, staged));
      // Signatures first, data last: a reader that sees the data finds its signature.
      for (const i of [...rels.keys()].reverse()) {
        const dest = join(this.cfg.cacheDir, rels[i] as string);
        await mkdir(dirname(dest), { recursive: true });
        await rename(staged[i] as string, dest);
      }
      this.log.info(
        { rels, ms: Date.now() - t0, upstream: this.upstream.describe },
        "mirror: verified and cached",
      );
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
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
