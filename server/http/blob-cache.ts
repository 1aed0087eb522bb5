// Boot artifacts (kernel, initrd) are content-addressed and never change, and
// in a boot storm every machine fetches the same few. So the server keeps
// one copy of each in memory, shared by every client: a response is a slice
// of that Buffer handed to the socket, with no read per chunk and no copy per
// client. Memory is bounded by `maxBytes` (least recently used out first);
// a file bigger than that is not cached and is streamed from disk instead
// (pump.ts). docs/PERFORMANCE.md has the figures.
import { readFile } from "node:fs/promises";

interface Entry {
  size: number;
  blob: Promise<Buffer>;
}

export class BlobCache {
  private readonly entries = new Map<string, Entry>();
  private used = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * The bytes of `path` under the content key `key` (its sha256), read once
   * and shared; undefined when the file does not fit the cache. Concurrent
   * callers share one read. A read that fails or finds another size than
   * `size` rejects and is forgotten, so the next request tries again.
   */
  get(key: string, path: string, size: number): Promise<Buffer> | undefined {
    if (size <= 0 || size > this.maxBytes) return undefined;
    const hit = this.entries.get(key);
    if (hit) {
      // Map order is insertion order: re-inserting marks it most recent.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.blob;
    }
    for (const [k, e] of this.entries) {
      if (this.used + size <= this.maxBytes) break;
      this.drop(k, e);
    }
    const blob = readFile(path).then((b) => {
      if (b.length !== size) {
        throw new Error(`${path}: ${b.length} bytes on disk, the catalog says ${size}`);
      }
      return b;
    });
    const entry: Entry = { size, blob };
    this.entries.set(key, entry);
    this.used += size;
    blob.catch(() => {
      if (this.entries.get(key) === entry) this.drop(key, entry);
    });
    return blob;
  }

  /** Bytes held (or being read), for tests and the status view. */
  bytes(): number {
    return this.used;
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.used -= e.size;
  }
}
