// Portage's binhost index (`Packages`), read the way Portage reads it
// (portage/getbinpkg.py PackageIndex): a header block, then one block per
// package, blocks separated by a blank line, lines "KEY: value". Portage
// stops at the first empty block and skips blocks without CPV and lines
// without a colon; so do we, so the server never trusts an entry the
// target's Portage would not see. Pure.

/** Digest keys an index entry may carry (Portage writes MD5 and SHA1). */
export const INDEX_HASHES = ["BLAKE2B", "SHA512", "SHA1", "MD5"] as const;
export type IndexHash = (typeof INDEX_HASHES)[number];

export interface BinpkgEntry {
  cpv: string;
  /** Relative to the binhost folder, e.g. sys-apps/foo/foo-1.0-1.gpkg.tar. */
  path: string;
  /** From SIZE; undefined when missing or not a decimal number. */
  size: number | undefined;
  /** Lower-cased, as written (a malformed value simply never matches). */
  digests: Partial<Record<IndexHash, string>>;
}

export interface PackagesIndex {
  header: Record<string, string>;
  /** By PATH. Entries without PATH are left out (Portage would ask for <cpv>.tbz2, never served here). */
  packages: Map<string, BinpkgEntry>;
  /** PATHs listed more than once with different SIZE or digests: never fetched. */
  ambiguous: Set<string>;
}

/** Parses a Packages file; throws when it has no header at all (an HTML error page, an empty body). */
export function parsePackagesIndex(text: string, source = "Packages"): PackagesIndex {
  const lines = text.split("\n");
  let at = 0;
  const block = (): Record<string, string> => {
    const d: Record<string, string> = {};
    for (; at < lines.length; at++) {
      const line = lines[at] as string; // like Portage: a "\r" stays part of the value
      if (line === "") {
        at++;
        break;
      }
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      // Portage drops the one character after the colon (the space it writes).
      d[line.slice(0, colon)] = line.slice(colon + 2);
    }
    return d;
  };
  const header = block();
  if (!Object.keys(header).some((k) => /^[A-Z][A-Z0-9_]*$/.test(k)))
    throw new Error(`${source}: not a Portage Packages index (no header block)`);
  const packages = new Map<string, BinpkgEntry>();
  const ambiguous = new Set<string>();
  for (let d = block(); Object.keys(d).length > 0; d = block()) {
    const entry = toEntry(d);
    if (!entry) continue;
    const seen = packages.get(entry.path);
    if (seen && !sameBits(seen, entry)) ambiguous.add(entry.path);
    if (!seen) packages.set(entry.path, entry);
  }
  return { header, packages, ambiguous };
}

function toEntry(d: Record<string, string>): BinpkgEntry | undefined {
  if (!d.CPV || !d.PATH) return undefined;
  const digests: Partial<Record<IndexHash, string>> = {};
  for (const h of INDEX_HASHES) if (d[h]) digests[h] = (d[h] as string).toLowerCase();
  const size = d.SIZE !== undefined && /^\d+$/.test(d.SIZE) ? Number(d.SIZE) : undefined;
  return { cpv: d.CPV, path: d.PATH.replace(/^\/+/, ""), size, digests };
}

function sameBits(a: BinpkgEntry, b: BinpkgEntry): boolean {
  return a.size === b.size && INDEX_HASHES.every((h) => a.digests[h] === b.digests[h]);
}
