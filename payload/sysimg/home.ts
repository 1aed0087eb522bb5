// A machine's own store of system images: /home/data/sysimgs/<name>.tar.zst
// with <name>.json beside it (the same record as the server's store keeps,
// plus where the image came from). Written only by a capture, atomically:
// the archive streams to <name>.tar.zst.partial, is fsync'ed and renamed;
// the JSON is written the same way and its rename is the commit point. What
// a crash leaves (.partial, a JSON-less archive) is removed by the next
// capture. Nothing else on /home is ever written.
import { createReadStream } from "node:fs";
import { readdir, readFile, rename, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isAtomicTemp, syncFile, writeFileAtomic } from "../../shared/durable.ts";
import { Sha256Tap } from "../../shared/hash.ts";
import { pruneChoice } from "../../shared/sysimgs.ts";
import { sysimgMetaSchema, type SysimgMeta } from "../spec/schema.ts";

/** Relative to the /home filesystem's root. */
export const HOME_SYSIMGS = "data/sysimgs";

export const archiveOf = (dir: string, name: string) => join(dir, `${name}.tar.zst`);
export const partialOf = (dir: string, name: string) => join(dir, `${name}.tar.zst.partial`);
const metaOf = (dir: string, name: string) => join(dir, `${name}.json`);

/** Images in `dir` with both halves, newest first; a bad JSON is skipped (and named in `skipped`). */
export async function listHome(dir: string): Promise<{ images: SysimgMeta[]; skipped: string[] }> {
  const files = new Set(await readdir(dir).catch(() => [] as string[]));
  const images: SysimgMeta[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    if (!f.endsWith(".json") || isAtomicTemp(f)) continue;
    const name = f.slice(0, -".json".length);
    if (!files.has(`${name}.tar.zst`)) continue;
    try {
      const meta = sysimgMetaSchema.parse(JSON.parse(await readFile(join(dir, f), "utf8")));
      if (meta.name === name) images.push(meta);
      else skipped.push(`${f}: names ${meta.name}`);
    } catch (err) {
      skipped.push(`${f}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  images.sort((a, b) => b.created.localeCompare(a.created));
  return { images, skipped };
}

/** Removes what an interrupted capture left: partial archives, temp JSONs, archives without JSON. */
export async function removeLeftovers(dir: string): Promise<string[]> {
  const files = new Set(await readdir(dir).catch(() => [] as string[]));
  const stale = [...files].filter(
    (f) =>
      f.endsWith(".partial") ||
      isAtomicTemp(f) ||
      (f.endsWith(".tar.zst") && !files.has(f.replace(/\.tar\.zst$/, ".json"))),
  );
  for (const f of stale) await rm(join(dir, f), { force: true });
  return stale;
}

/** Bytes free on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Pure: the refusal when /home cannot hold the image. `needed` is the root's
 * used bytes: the compressed archive is smaller, so this errs on the safe side.
 */
export function homeRoomRefusal(device: string, free: number, needed: number): string | undefined {
  if (free >= needed) return undefined;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `refused: /home (${device}) has ${mib(free)} free; the image needs up to ${mib(needed)} (the root's used bytes); nothing was written`;
}

/** The partial archive becomes an image: fsync + rename, then the JSON (the commit point). */
export async function commitHome(dir: string, meta: SysimgMeta): Promise<void> {
  await syncFile(partialOf(dir, meta.name));
  await rename(partialOf(dir, meta.name), archiveOf(dir, meta.name));
  await writeFileAtomic(metaOf(dir, meta.name), `${JSON.stringify(meta, null, 2)}\n`, {
    mode: 0o600,
  });
}

/** Retention on /home: the JSON first (without it the archive is not an image), then the archive. */
export async function pruneHome(
  dir: string,
  keep: number,
  protect: Set<string>,
): Promise<string[]> {
  const doomed = pruneChoice((await listHome(dir)).images, keep, protect);
  for (const name of doomed) {
    await rm(metaOf(dir, name), { force: true });
    await rm(archiveOf(dir, name), { force: true });
  }
  return doomed;
}

/** sha256 of a stored archive, with progress; compared with its JSON before anything is paved. */
export async function hashArchive(
  file: string,
  progress?: (bytes: number) => void,
): Promise<{ sha256: string; bytes: number }> {
  const tap = new Sha256Tap(progress);
  await pipeline(createReadStream(file), tap, new Writable({ write: (_c, _e, cb) => cb() }));
  return { sha256: tap.sha256(), bytes: tap.bytes };
}

/** What the machine's /home holds, for `automagic sysimgs HOST`; best effort. */
export async function reportHomeSysimgs(
  f: typeof fetch,
  server: string,
  token: string,
  images: unknown[],
): Promise<void> {
  const url = `${server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(token)}/home-sysimgs`;
  await f(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ images }),
  }).catch(() => undefined);
}
