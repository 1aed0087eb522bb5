// Reads a directory tree into archive records (lstat only; bodies are read
// when written). Order: each directory's entries sorted by byte value,
// depth first, so a parent always precedes its children and the same tree
// always gives the same archive.
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { Stats } from "node:fs";
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type Body, type CpioRecord } from "./records.ts";

export interface WalkOptions {
  /** Relative paths ("usr/share/doc") to leave out, with everything below them. */
  skip?: (rel: string, st: Stats) => boolean;
}

function major(dev: number): number {
  return Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
}
function minor(dev: number): number {
  return Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);
}

async function bodyOf(abs: string, st: Stats): Promise<Body> {
  const type = st.mode & S_IFMT;
  if (type === S_IFREG && st.size > 0) return { kind: "file", path: abs, size: st.size };
  if (type === S_IFLNK)
    return { kind: "bytes", bytes: Buffer.from(await readlink(abs, { encoding: "buffer" })) };
  return { kind: "none" };
}

export async function recordOf(abs: string, name: string): Promise<CpioRecord> {
  let st: Stats;
  try {
    st = await lstat(abs);
  } catch (err) {
    throw new Error(`cpio: cannot stat ${abs}`, { cause: err });
  }
  return {
    name,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    nlink: st.nlink,
    mtime: Math.floor(st.mtimeMs / 1000),
    ino: st.ino,
    devMajor: major(st.dev),
    devMinor: minor(st.dev),
    rdevMajor: major(st.rdev),
    rdevMinor: minor(st.rdev),
    body: await bodyOf(abs, st),
    linkKey: `${st.dev}:${st.ino}`,
  };
}

/** Records for `root` itself (as ".") and everything below it. */
export async function walkTree(root: string, opts: WalkOptions = {}): Promise<CpioRecord[]> {
  const out: CpioRecord[] = [await recordOf(root, ".")];
  const visit = async (rel: string): Promise<void> => {
    const abs = rel === "" ? root : join(root, rel);
    const names = (await readdir(abs)).sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    const rels = names.map((n) => (rel === "" ? n : `${rel}/${n}`));
    // stat a directory's entries together; the order stays the sorted one
    const recs = await Promise.all(rels.map((r) => recordOf(join(root, r), r)));
    for (const [i, rec] of recs.entries()) {
      const childRel = rels[i]!;
      const st = { mode: rec.mode } as Stats;
      if (opts.skip?.(childRel, st)) continue;
      out.push(rec);
      if ((rec.mode & S_IFMT) === S_IFDIR) await visit(childRel);
    }
  };
  await visit("");
  return out;
}
