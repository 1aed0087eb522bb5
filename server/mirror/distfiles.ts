// Source tarballs (distfiles) through the verifying mirror. Gentoo's tree
// names every distfile with its size and digests in the packages' Manifests
// (DIST lines); the snapshot the mirror serves is signature-checked, so its
// Manifests are the trust anchor: a distfile is fetched only when the
// verified tree names it, and cached only when its size, BLAKE2B and SHA512
// match. The layout is Gentoo's (GLEP 75): distfiles/<first byte of
// BLAKE2B(name), hex>/<name>, announced by distfiles/layout.conf, which
// Portage reads before fetching from a mirror.
import { createHash } from "node:crypto";
import { execa } from "execa";

/** A distfile the verified tree does not name (or under the wrong bucket): never fetched. */
export class NotInTree extends Error {
  constructor(
    readonly rel: string,
    why: string,
  ) {
    super(`${rel}: ${why}`);
    this.name = "NotInTree";
  }
}

export interface DistEntry {
  size: number;
  blake2b: string;
  sha512: string;
}

/** What distfiles/layout.conf says (the layout Gentoo's mirrors use). */
export const LAYOUT_CONF = "[structure]\n0=filename-hash BLAKE2B 8\n";

/** The two hex digits a name lives under in the filename-hash layout. */
export function bucketOf(name: string): string {
  return createHash("blake2b512").update(name).digest("hex").slice(0, 2);
}

/** DIST lines of Manifest text: name -> size and digests (BLAKE2B and SHA512 required). */
export function parseDistLines(
  text: string,
  into = new Map<string, DistEntry>(),
): Map<string, DistEntry> {
  for (const line of text.split("\n")) {
    if (!line.startsWith("DIST ")) continue;
    const [, name, size, ...rest] = line.trim().split(/\s+/);
    const digests = new Map<string, string>();
    for (let i = 0; i + 1 < rest.length; i += 2) digests.set(rest[i]!, rest[i + 1]!.toLowerCase());
    const blake2b = digests.get("BLAKE2B");
    const sha512 = digests.get("SHA512");
    if (!name || !/^\d+$/.test(size ?? "") || !blake2b || !sha512) continue;
    into.set(name, { size: Number(size), blake2b, sha512 });
  }
  return into;
}

/** Every DIST entry of the Manifests in a snapshot tarball (xz), read with tar. */
export async function distIndexOf(snapshot: string): Promise<Map<string, DistEntry>> {
  const r = await execa("tar", ["-xJOf", snapshot, "--wildcards", "*/Manifest"], {
    maxBuffer: 1 << 30,
    stripFinalNewline: false,
  });
  return parseDistLines(r.stdout);
}
