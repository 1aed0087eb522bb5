// Lease persistence: an append-only text journal ("mac ip expiresMs" per
// line, expires 0 = released) with group commit: appends that arrive while
// a write runs share the next one.
//   "write" (default): an append resolves once write(2) returned, so the
//     lease survives a crash or restart of the server (Kea's memfile gives
//     the same), and a datasync follows within a second. The default because
//     the automagic host also writes multi-GB images and mirror files: with
//     the disk that busy an fdatasync before every ACK measured >1 s stalls
//     (perfdhcp counted 2-4% of ACKs lost at 2,000/s), long enough for PXE
//     ROMs to give up.
//   "fsync": an append resolves only after its line is fdatasync'ed, so no
//     ACK is sent for a lease a power cut could forget (ISC dhcpd's rule).
// On open, and whenever the server asks, the journal is compacted: write a
// temp file, fsync it, rename it over the journal, fsync the folder.
import { syncDir } from "../../shared/durable.ts";
import { open, readFile, rename, type FileHandle } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

export interface JournalRecord {
  mac: string;
  ip: string;
  expires: number;
}

const LINE = /^([0-9a-f:]{1,47}) (\d{1,3}(?:\.\d{1,3}){3}) (\d{1,15})$/;

/** Last record per MAC wins; malformed lines (a torn last write) are skipped. */
export function replayJournal(text: string): Map<string, JournalRecord> {
  const out = new Map<string, JournalRecord>();
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    out.set(m[1]!, { mac: m[1]!, ip: m[2]!, expires: Number(m[3]) });
  }
  return out;
}

export function formatRecord(r: JournalRecord): string {
  return `${r.mac} ${r.ip} ${Math.round(r.expires)}\n`;
}

export type LeaseSync = "fsync" | "write";

/** In "write" mode, how long a written line may wait for its datasync. */
const LAZY_SYNC_MS = 1000;

/** The file operations compaction needs; tests wrap these to record them. */
export interface JournalFs {
  open(path: string, flags: string): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** fsync of a folder: the names renamed in it are on disk. */
  syncDir(dir: string): Promise<void>;
}

export const journalFs: JournalFs = {
  open: (path, flags) => open(path, flags),
  rename,
  syncDir,
};

/** Writes `records` to a temp file, syncs it, renames it over `path`, opens it for appending. */
async function rewrite(fs: JournalFs, path: string, records: JournalRecord[]): Promise<FileHandle> {
  const tmp = `${path}.tmp`;
  const t = await fs.open(tmp, "w");
  try {
    await t.writeFile(records.map(formatRecord).join(""));
    await t.sync();
  } finally {
    await t.close();
  }
  await fs.rename(tmp, path);
  // The rename lives in the folder: until the folder is synced a power cut
  // can bring back the old name, and with it lose every lease appended to
  // the new file since (ACKs already sent). rename(2) alone only orders it.
  await fs.syncDir(dirname(path));
  return fs.open(path, "a");
}

export class LeaseJournal {
  private pending: string[] = [];
  private waiters: Array<{ resolve(): void; reject(e: Error): void }> = [];
  private flushing: Promise<void> | undefined;
  private lazySync: NodeJS.Timeout | undefined;
  private appended = 0;
  private compactTo: JournalRecord[] | undefined;

  private constructor(
    private fh: FileHandle,
    readonly path: string,
    private readonly sync: LeaseSync,
    private readonly fs: JournalFs,
  ) {}

  /** Reads, compacts and opens the journal; returns it with the live records. */
  static async open(
    path: string,
    now: number,
    sync: LeaseSync = "write",
    fs: JournalFs = journalFs,
  ): Promise<{ journal: LeaseJournal; records: JournalRecord[] }> {
    mkdirSync(dirname(path), { recursive: true });
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(`dhcp lease file ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
    const records = [...replayJournal(text).values()].filter((r) => r.expires > now);
    const fh = await rewrite(fs, path, records);
    return { journal: new LeaseJournal(fh, path, sync, fs), records };
  }

  /** Lines appended since the last compaction (the server decides when to compact). */
  get appendedLines(): number {
    return this.appended;
  }

  /**
   * Rewrites the file to `records` (the live leases) before the next write.
   * Lines still pending were queued in order with the table changes the
   * snapshot already holds, so replaying them after it ends in the same state.
   */
  requestCompaction(records: JournalRecord[]): void {
    this.compactTo = records;
    if (!this.flushing) this.flushing = this.flushLoop();
  }

  append(r: JournalRecord): Promise<void> {
    this.pending.push(formatRecord(r));
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) this.flushing = this.flushLoop();
    return p;
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0 || this.compactTo) {
      if (this.compactTo) {
        const records = this.compactTo;
        this.compactTo = undefined;
        try {
          const fh = await rewrite(this.fs, this.path, records);
          const old = this.fh;
          this.fh = fh;
          this.appended = 0;
          await old.close();
        } catch {
          // Keep appending to the old file; the next start-up compacts it.
        }
        continue;
      }
      const lines = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        await this.fh.write(lines.join(""));
        this.appended += lines.length;
        if (this.sync === "fsync") await this.fh.datasync();
        else this.lazySync ??= setTimeout(() => this.syncNow(), LAZY_SYNC_MS);
        for (const w of waiters) w.resolve();
      } catch (err) {
        const e = new Error(`dhcp lease file ${this.path}: ${(err as Error).message}`, {
          cause: err,
        });
        for (const w of waiters) w.reject(e);
      }
    }
    this.flushing = undefined;
  }

  private syncNow(): void {
    this.lazySync = undefined;
    this.fh.datasync().catch(() => undefined);
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.lazySync) clearTimeout(this.lazySync);
    this.lazySync = undefined;
    await this.fh.datasync();
    await this.fh.close();
  }
}
