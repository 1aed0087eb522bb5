// File bytes for transfers. Files are read whole (the served files are iPXE
// binaries of a few hundred KiB; big artifacts travel over HTTP, DESIGN.md),
// and shared between concurrent transfers of the same unchanged file, so a
// lab full of machines booting at once costs one read and one buffer.
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

interface Entry {
  data: Promise<Buffer>;
  users: number;
}

export class ContentCache {
  private entries = new Map<string, Entry>();

  /** Bytes of `path` as sent in `mode`; call the returned release() when the transfer ends. */
  async acquire(
    path: string,
    mode: "octet" | "netascii",
  ): Promise<{ data: Buffer; release(): void }> {
    const st = await stat(path);
    // Keyed by identity and version so an edited file is never served stale.
    const key = `${mode}\0${path}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const data = readFile(path).then((raw) => (mode === "netascii" ? toNetascii(raw) : raw));
      entry = { data, users: 0 };
      this.entries.set(key, entry);
    }
    entry.users += 1;
    const mine = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      mine.users -= 1;
      if (mine.users === 0 && this.entries.get(key) === mine) this.entries.delete(key);
    };
    try {
      return { data: await mine.data, release };
    } catch (err) {
      release();
      throw new Error(`tftp: reading ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
