// Archive records before encoding: what a file is and where its body comes
// from. Hard links and inode numbers are settled here, purely, so the byte
// layout matches GNU cpio (`cpio -o -H newc --reproducible`).
import type { CpioHeader } from "./newc.ts";

export type Body =
  | { kind: "none" }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "file"; path: string; size: number };

export interface CpioRecord extends Omit<CpioHeader, "filesize"> {
  body: Body;
  /** Identity of the source inode (st_dev:st_ino) for hard links; absent for generated entries. */
  linkKey?: string;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export function bodySize(b: Body): number {
  return b.kind === "none" ? 0 : b.kind === "bytes" ? b.bytes.length : b.size;
}

/**
 * Pure: GNU cpio's newc hard-link rule (copyout.c). A regular file with
 * nlink > 1 is held back until its last link is seen; then the held-back
 * links are written newest first with size 0 and the last one carries the
 * data (the kernel links the names together and writes the body once).
 * Links whose group is incomplete are flushed at the end, newest first, the
 * last one left of each inode carrying the data.
 */
export function orderHardLinks(records: readonly CpioRecord[]): CpioRecord[] {
  const out: CpioRecord[] = [];
  let deferred: CpioRecord[] = []; // newest first, like GNU's linked list
  const empty: Body = { kind: "none" };
  const countOf = (key: string) => deferred.filter((d) => d.linkKey === key).length;
  for (const r of records) {
    const isLink = (r.mode & S_IFMT) === S_IFREG && r.nlink > 1 && r.linkKey !== undefined;
    if (!isLink) {
      out.push(r);
    } else if (countOf(r.linkKey!) + 1 < r.nlink) {
      deferred.unshift(r);
    } else {
      out.push(
        ...deferred.filter((d) => d.linkKey === r.linkKey).map((d) => ({ ...d, body: empty })),
        r,
      );
      deferred = deferred.filter((d) => d.linkKey !== r.linkKey);
    }
  }
  while (deferred.length > 0) {
    const d = deferred.shift()!;
    out.push(countOf(d.linkKey!) === 0 ? d : { ...d, body: empty });
  }
  return out;
}

/**
 * Pure: reproducible inode numbers (GNU `--renumber-inodes`): sequential
 * from 0 in walk order (before orderHardLinks, as GNU numbers a file when it
 * first sees it), hard links sharing their first number; device
 * numbers of the archived files are dropped (`--ignore-devno`).
 */
export function renumberInodes(records: readonly CpioRecord[]): CpioRecord[] {
  const seen = new Map<string, number>();
  let next = 0;
  return records.map((r) => {
    let ino: number;
    if (r.linkKey !== undefined && r.nlink > 1 && (r.mode & S_IFMT) !== S_IFDIR) {
      ino = seen.get(r.linkKey) ?? next++;
      seen.set(r.linkKey, ino);
    } else {
      ino = next++;
    }
    return { ...r, ino, devMajor: 0, devMinor: 0 };
  });
}
