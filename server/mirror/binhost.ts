// Gentoo's binary package host through the cache:
//   releases/amd64/binpackages/<release>/<isa>/Packages       re-fetched after refreshSeconds
//   .../<category>/<pn>/<pf>-<build_id>.gpkg.tar              fetched once, kept
// A gpkg is fetched only when the current index lists its PATH, and kept only
// when its SIZE and every digest the entry carries (at least one) match.
// The server does not check the gpkg's OpenPGP signature: the target's
// Portage does (FEATURES=binpkg-request-signature with the keyring getuto
// set up), so here the index is the integrity reference, not the trust root.
// Under binpkg-multi-instance a PATH names one build forever (the build id
// grows with every rebuild), so a kept gpkg never goes stale.
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Log } from "../log.ts";
import type { StageRequest } from "./cache.ts";
import {
  INDEX_HASHES,
  parsePackagesIndex,
  type BinpkgEntry,
  type PackagesIndex,
} from "./packages-index.ts";
import { binhostDir, type MirrorTarget } from "./paths.ts";
import type { Upstream } from "./upstream.ts";

/** A gpkg the binhost's index does not list: answered 404, never fetched. */
export class NotInIndex extends Error {
  constructor(readonly rel: string) {
    super(`${rel}: not in the binhost's Packages index`);
    this.name = "NotInIndex";
  }
}

export interface BinhostOptions {
  cacheDir: string;
  refreshSeconds: number;
  upstream: Upstream;
  log: Log;
  /** The cache's single-flight: one run per key at a time, shared by concurrent callers. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** The cache's download-check-move-in, under its size limit. */
  stage(req: StageRequest): Promise<void>;
}

type BinpkgTarget = Extract<MirrorTarget, { kind: "binpkg" }>;

const INDEX_MAX = 256 << 20; // Gentoo's 23.0/x86-64 index is tens of MB
const ALGO: Record<(typeof INDEX_HASHES)[number], string> = {
  BLAKE2B: "blake2b512",
  SHA512: "sha512",
  SHA1: "sha1",
  MD5: "md5",
};

export class Binhost {
  #memo = new Map<string, { mtimeMs: number; size: number; index: PackagesIndex }>();

  constructor(private readonly o: BinhostOptions) {}

  /** The cached index, re-fetched when older than refreshSeconds (the old copy is served if upstream fails). */
  async ensureIndex(release: string, isa: string, force = false): Promise<PackagesIndex> {
    const rel = `${binhostDir(release, isa)}/Packages`;
    return this.o.once(rel, async () => {
      const cached = join(this.o.cacheDir, rel);
      if (!force && (await fresh(cached, this.o.refreshSeconds))) return this.#read(cached, rel);
      try {
        await this.#fetchKeep(rel, INDEX_MAX, undefined, async (staged) => {
          parsePackagesIndex(await readFile(staged, "utf8"), rel);
        });
      } catch (err) {
        if (!existsSync(cached)) throw err;
        this.o.log.warn({ err, rel }, "mirror: refresh failed, serving the cached index");
      }
      return this.#read(cached, rel);
    });
  }

  /** Makes sure the gpkg is in the cache, fetching and checking it against the index on a miss. */
  async ensurePackage(t: BinpkgTarget): Promise<void> {
    await this.o.once(t.rel, async () => {
      if (existsSync(join(this.o.cacheDir, t.rel))) return;
      const index = await this.ensureIndex(t.release, t.isa);
      const entry = index.packages.get(t.path);
      if (!entry) throw new NotInIndex(t.rel);
      if (index.ambiguous.has(t.path))
        throw new Error(`${t.rel}: the index lists it twice with different digests`);
      if (entry.size === undefined || !INDEX_HASHES.some((h) => entry.digests[h]))
        throw new Error(`${t.rel}: its index entry lacks SIZE or a digest; refusing it`);
      await this.#fetchKeep(t.rel, entry.size, entry.size, async (staged) => {
        const bad = await binpkgMismatch(staged, entry, t.rel);
        if (bad) throw new Error(bad);
      });
    });
  }

  async #read(path: string, rel: string): Promise<PackagesIndex> {
    const st = await stat(path);
    const memo = this.#memo.get(path);
    if (memo && memo.mtimeMs === st.mtimeMs && memo.size === st.size) return memo.index;
    const index = parsePackagesIndex(await readFile(path, "utf8"), rel);
    this.#memo.set(path, { mtimeMs: st.mtimeMs, size: st.size, index });
    return index;
  }

  /** One file through the cache's staging, kept only when `check` passes. */
  #fetchKeep(
    rel: string,
    maxBytes: number,
    expectBytes: number | undefined,
    check: (staged: string) => Promise<void>,
  ): Promise<void> {
    return this.o.stage({
      key: rel,
      rels: [rel],
      upstream: this.o.upstream,
      maxBytes: () => maxBytes,
      expectBytes,
      check: ([staged]) => check(staged as string),
      what: "checked",
    });
  }
}

/** Why `file` is not what `entry` describes (SIZE, then every digest it carries), or undefined. */
export async function binpkgMismatch(
  file: string,
  entry: BinpkgEntry,
  rel: string,
): Promise<string | undefined> {
  const algos = INDEX_HASHES.filter((h) => entry.digests[h]);
  const hashes = algos.map((h) => createHash(ALGO[h]));
  let bytes = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    for (const h of hashes) h.update(chunk);
  }
  if (bytes !== entry.size) return `${rel}: SIZE mismatch (index ${entry.size}, got ${bytes})`;
  for (const [i, algo] of algos.entries()) {
    const got = (hashes[i] as ReturnType<typeof createHash>).digest("hex");
    if (got !== entry.digests[algo])
      return `${rel}: ${algo} mismatch (index ${entry.digests[algo]}, got ${got})`;
  }
  return undefined;
}

async function fresh(path: string, seconds: number): Promise<boolean> {
  try {
    return (Date.now() - (await stat(path)).mtimeMs) / 1000 < seconds;
  } catch {
    return false;
  }
}
