// Writes that survive a crash or power cut. A rename is atomic but not
// durable: until the folder is fsync'ed the new name may be lost, and until
// the file is fsync'ed the name may point at a file with holes or zero
// length (ext4 and xfs both reorder data after metadata). So: write beside,
// fsync the file, rename, fsync the folder.
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** fsync of a file's data and size, whichever descriptor wrote them. */
export async function syncFile(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of a folder: the names created, renamed or removed in it are on disk. */
export async function syncDir(dir: string): Promise<void> {
  await syncFile(dir);
}

/** The temporary file writeFileAtomic writes beside `path`; see isAtomicTemp. */
function tempFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
}

/** True for a name writeFileAtomic left behind when the process died mid-write. */
export function isAtomicTemp(name: string): boolean {
  return /^\..+\.[0-9a-f]{8}\.tmp$/.test(name);
}

/**
 * Replaces `path` with `data` so a reader (or the next start after a crash)
 * sees the old file or the whole new one, never a part: temp file beside it,
 * fsync, rename, fsync the folder. On failure the temp file is removed.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  const tmp = tempFor(path);
  try {
    const fh = await open(tmp, "wx", opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}
