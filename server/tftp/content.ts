// File bytes for transfers. Files are read whole (the served files are iPXE
// binaries of a few hundred KiB; big artifacts travel over HTTP, DESIGN.md),
// shared between concurrent transfers of the same unchanged file, and kept
// (bounded, least recently used first) after the last transfer ends, so a lab
// full of machines booting at once or all day costs one read and one buffer.
import { readFile, stat } from "node:fs/promises";

/** RFC 1350 netascii (RFC 764): LF -> CR LF, bare CR -> CR NUL. Pure. */
export function toNetascii(raw: Buffer): Buffer {
  let extra = 0;
  for (const b of raw) if (b === 0x0a || b === 0x0d) extra += 1;
  if (extra === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + extra);
  let o = 0;
  for (const b of raw) {
    if (b === 0x0a) {
      out[o++] = 0x0d;
      out[o++] = 0x0a;
    } else if (b === 0x0d) {
      out[o++] = 0x0d;
      out[o++] = 0x00;
    } else {
      out[o++] = b;
    }
  }
  return out;
}

/** Identity and version of a file as stat() saw it; a change in any field is a new version. */
export interface FileVersion {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

interface Entry {
  /** mode and path: entries of one family are versions of one file. */
  family: string;
  data: Promise<Buffer>;
  bytes: number;
  users: number;
}

export class ContentCache {
  /** Insertion order is recency: a hit moves its entry to the end. */
  private entries = new Map<string, Entry>();

  /**
   * `keepBytes` bounds the files kept after their last transfer ended, so a
   * lab that boots all day reads each iPXE binary once, not once per boot
   * (a read is five trips to libuv's thread pool). Files in use are never
   * evicted; the least recently used idle ones go first.
   */
  constructor(private readonly keepBytes = 64 << 20) {}

  /**
   * Bytes of `path` as sent in `mode`; call the returned release() when the
   * transfer ends. `version` is the stat the caller already holds (saves one).
   */
  async acquire(
    path: string,
    mode: "octet" | "netascii",
    version?: FileVersion,
  ): Promise<{ data: Buffer; release(): void }> {
    const v = version ?? (await stat(path));
    // Keyed by identity and version so an edited file is never served stale.
    const family = `${mode}\0${path}`;
    const key = `${family}\0${v.ino}\0${v.size}\0${v.mtimeMs}\0${v.ctimeMs}`;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      this.dropOtherVersions(family, key);
      const data = readFile(path).then((raw) => (mode === "netascii" ? toNetascii(raw) : raw));
      const created: Entry = { family, data, bytes: 0, users: 0 };
      data.then(
        (buf) => {
          created.bytes = buf.length;
          this.trim();
        },
        () => {
          if (this.entries.get(key) === created) this.entries.delete(key);
        },
      );
      entry = created;
      this.entries.set(key, entry);
    }
    entry.users += 1;
    const mine = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      mine.users -= 1;
      if (mine.users === 0) this.trim();
    };
    try {
      return { data: await mine.data, release };
    } catch (err) {
      release();
      throw new Error(`tftp: reading ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Idle entries of the family under another key are stale versions: drop them. */
  private dropOtherVersions(family: string, key: string): void {
    for (const [k, e] of this.entries) {
      if (e.family === family && k !== key && e.users === 0) this.entries.delete(k);
    }
  }

  private trim(): void {
    let idle = 0;
    for (const e of this.entries.values()) if (e.users === 0) idle += e.bytes;
    for (const [k, e] of this.entries) {
      if (idle <= this.keepBytes) break;
      if (e.users > 0) continue;
      this.entries.delete(k);
      idle -= e.bytes;
    }
  }

  /** Files held, in use or kept. */
  get size(): number {
    return this.entries.size;
  }

  /** Files currently in use by a transfer. */
  get inUse(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.users > 0) n += 1;
    return n;
  }
}
