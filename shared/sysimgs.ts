// System images as both the server's store (server/sysimgs) and a machine's
// own /home/data/sysimgs (payload/sysimg) keep them: the pure rules they share.

/**
 * Pure: the images retention removes from one host's list: all but the
 * `keep` newest (by creation time), never one in `protect`. The same rule
 * for the server's store and a machine's /home (payload/sysimg/home.ts).
 */
export function pruneChoice(
  images: Array<{ name: string; created: string }>,
  keep: number,
  protect: Set<string>,
): string[] {
  const newestFirst = [...images].sort((a, b) => b.created.localeCompare(a.created));
  return newestFirst
    .slice(Math.max(keep, 0))
    .map((i) => i.name)
    .filter((n) => !protect.has(n));
}

/** An image as a store lists it; `created` is an ISO time, so text order is time order. */
export interface SysimgRef {
  name: string;
  bytes: number;
  sha256: string;
  created: string;
}

export interface PickedImage<T extends SysimgRef> {
  name: string;
  /** The copy on the machine's own /home, if it has one. */
  home?: T;
  /** The server's copy, if it has one. */
  server?: T;
}

/**
 * Pure: which image `deploy:<asked>` means. `latest` and `previous` are the
 * newest and second-newest image of the host in either store (one name may
 * be in both); any other word is an image name. Throws naming both stores'
 * counts when there is no such image.
 */
export function pickImage<T extends SysimgRef>(
  asked: string,
  home: T[],
  server: T[],
): PickedImage<T> {
  const byName = new Map<string, PickedImage<T> & { created: string }>();
  for (const [where, list] of [
    ["home", home],
    ["server", server],
  ] as const) {
    for (const i of list) {
      const e = byName.get(i.name) ?? { name: i.name, created: i.created };
      e[where] = i;
      byName.set(i.name, e);
    }
  }
  const counts = `${home.length} on its /home, ${server.length} on the server`;
  let hit: (PickedImage<T> & { created: string }) | undefined;
  if (asked === "latest" || asked === "previous") {
    const newestFirst = [...byName.values()].sort((a, b) => b.created.localeCompare(a.created));
    hit = newestFirst[asked === "latest" ? 0 : 1];
    if (!hit) throw new Error(`deploy:${asked}: the host has no ${asked} image (${counts})`);
  } else {
    hit = byName.get(asked);
    if (!hit) throw new Error(`deploy:${asked}: no image of that name (${counts})`);
  }
  const { created: _created, ...picked } = hit;
  return picked;
}
