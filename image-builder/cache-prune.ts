// var/image-cache grows by a 370 MB root and a ~65 MB base per recipe or
// mirror change. After a build, entries other than the ones just used are
// kept only up to a few of the newest (a switch back stays cheap).
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";

export interface CacheEntry {
  name: string;
  mtimeMs: number;
}

/** Pure: names to delete — all but `inUse` and the `keep` newest others. Temp leftovers never count as in use. */
export function cacheEntriesToPrune(
  entries: readonly CacheEntry[],
  inUse: ReadonlySet<string>,
  keep: number,
): string[] {
  return entries
    .filter((e) => !inUse.has(e.name))
    .sort((a, b) => b.mtimeMs - a.mtimeMs)
    .slice(keep)
    .map((e) => e.name);
}

async function entries(dir: string): Promise<CacheEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  // a root is "<key>" plus "<key>.json"; both go together
  const keys = [...new Set(names.map((n) => n.replace(/\.json$/, "")))].filter(
    (k) => !k.includes(".tmp-"),
  );
  return Promise.all(
    keys.map(async (k) => ({
      name: k,
      mtimeMs: (await stat(join(dir, names.includes(k) ? k : `${k}.json`))).mtimeMs,
    })),
  );
}

/** Prunes roots/ and bases/; returns what was deleted (relative paths). */
export async function pruneCache(
  cache: string,
  inUse: { root: string; base: string },
  keepOthers = 1,
): Promise<string[]> {
  const gone: string[] = [];
  for (const [sub, used] of [
    ["roots", inUse.root],
    ["bases", inUse.base],
  ] as const) {
    const dir = join(cache, sub);
    for (const name of cacheEntriesToPrune(await entries(dir), new Set([used]), keepOthers)) {
      await rm(join(dir, name), { recursive: true, force: true });
      await rm(join(dir, `${name}.json`), { force: true });
      gone.push(`${sub}/${name}`);
    }
  }
  return gone;
}
