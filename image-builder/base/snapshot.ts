// Which state of the Debian mirror a base was built from: the suite's
// InRelease Date and hash. Part of the root's cache key, so a point release
// rebuilds the base and an unchanged mirror reuses it.
import { sha256 } from "../../shared/hash.ts";

export interface MirrorSnapshot {
  /** The InRelease "Date:" field. */
  date: string;
  /** sha256 of the InRelease file. */
  sha256: string;
}

/** Pure: the snapshot of an InRelease file's text. */
export function snapshotOf(inRelease: string, url: string): MirrorSnapshot {
  const m = /^Date:\s*(.+)$/m.exec(inRelease);
  if (!m) throw new Error(`${url}: no Date: field in InRelease`);
  return { date: m[1]!.trim(), sha256: sha256(inRelease) };
}

export function inReleaseUrl(mirror: string, suite: string): string {
  return `${mirror.replace(/\/+$/, "")}/dists/${suite}/InRelease`;
}

export async function fetchSnapshot(
  mirror: string,
  suite: string,
  timeoutMs = 15_000,
): Promise<MirrorSnapshot> {
  const url = inReleaseUrl(mirror, suite);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`${url}: cannot fetch the mirror's InRelease`, { cause: err });
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return snapshotOf(await res.text(), url);
}
