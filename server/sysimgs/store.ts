// Captured system images (DESIGN.md "Images"): <dir>/<name>.tar.zst with
// <name>.json beside it, name = <host>-<UTC stamp>. An upload is written to
// <name>.tar.zst.partial while it is hashed and metered (limits.ts); it
// becomes an image only on commit, when the sha256 the payload computed
// equals the one computed here. Commit fsyncs the archive, renames it, then
// writes the JSON atomically (shared/durable.ts): the JSON's rename is
// the commit point. Nothing half-written is ever listed, and what a crash
// leaves between those steps is removed at the next start.
import { createWriteStream } from "node:fs";
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { finished, pipeline } from "node:stream/promises";
import type { Log } from "../log.ts";
import { Sha256Tap } from "../../shared/hash.ts";
import { isAtomicTemp, syncFile, writeFileAtomic } from "../../shared/durable.ts";
import { pruneChoice } from "../../shared/sysimgs.ts";
import {
  freeBytes,
  NO_LIMITS,
  overFree,
  overMax,
  UploadMeter,
  UploadRefused,
  type UploadLimits,
} from "./limits.ts";

export { UploadRefused } from "./limits.ts";

export interface SysImage {
  name: string;
  host: string;
  run: number;
  bytes: number;
  sha256: string;
  created: string;
  /** What the payload said about the source: device, filesystem, ... */
  source: Record<string, unknown>;
}

interface Pending {
  name: string;
  host: string;
  bytes: number;
  sha256: string;
}

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Pure: the image name for a capture of `host` at `at`, e.g. web1-20261127T170500Z. */
export function imageName(host: string, at: Date): string {
  if (!HOST.test(host))
    throw new Error(`sysimg: host name ${JSON.stringify(host)} is not usable in a file name`);
  return `${host}-${at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}`;
}

/** The shape a committed image's JSON must have; anything else is not listed. */
function isSysImage(v: unknown): v is SysImage {
  const o = v as Partial<SysImage> | null;
  return (
    typeof o === "object" &&
    o !== null &&
    typeof o.name === "string" &&
    typeof o.host === "string" &&
    typeof o.bytes === "number" &&
    typeof o.created === "string" &&
    typeof o.sha256 === "string" &&
    /^[0-9a-f]{64}$/.test(o.sha256)
  );
}

const isNoSpace = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOSPC";

export interface SysImageStoreOptions {
  limits?: UploadLimits;
  /** Where removed leftovers and skipped metadata files are reported (pino's warn fits). */
  log?: Log;
}

export class SysImageStore {
  private pending = new Map<number, Pending>();
  private readonly limits: UploadLimits;

  constructor(
    readonly dir: string,
    private readonly now: () => Date = () => new Date(),
    private readonly opts: SysImageStoreOptions = {},
  ) {
    this.limits = opts.limits ?? NO_LIMITS;
  }

  /**
   * Drops what a previous process left unfinished: uploads never committed
   * (.partial), atomic writes cut short (.tmp), and an archive or JSON
   * without its other half (a commit that died between its renames). The
   * folder is 0700 and the files 0600: an image holds the source's shadow
   * hashes and SSH host keys.
   */
  async open(): Promise<this> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const files = new Set(await readdir(this.dir));
    const stale = [...files].filter(
      (f) =>
        f.endsWith(".partial") ||
        isAtomicTemp(f) ||
        (f.endsWith(".tar.zst") && !files.has(f.replace(/\.tar\.zst$/, ".json"))) ||
        (f.endsWith(".json") && !files.has(f.replace(/\.json$/, ".tar.zst"))),
    );
    for (const f of stale) {
      this.opts.log?.warn(
        { file: join(this.dir, f) },
        "sysimg: unfinished upload or commit removed",
      );
      await rm(join(this.dir, f), { force: true });
    }
    return this;
  }

  /**
   * Refuses an upload of `declared` bytes (Content-Length) that is over
   * sysimgs.maxBytes or does not fit on the state disk; with no length,
   * refuses only when the disk is already at sysimgs.keepFree.
   */
  async admit(declared: number | undefined): Promise<number> {
    const max = declared === undefined ? undefined : overMax(declared, this.limits);
    if (max) throw new UploadRefused("too-large", `sysimg: upload refused: ${max}`);
    const free = await freeBytes(this.dir);
    const short = overFree(declared ?? 1, free, this.limits);
    if (short)
      throw new UploadRefused(
        "no-space",
        `sysimg: upload refused: the state disk (${this.dir}) is too full: ${short}`,
      );
    return free;
  }

  /**
   * Streams one upload of run `run` to a partial file; resolves with what was
   * received. On any failure (refused, client gone, disk error) the partial
   * file is removed. `body` is only read, never destroyed: after a refusal
   * the caller can still answer on its connection.
   */
  async receive(
    host: string,
    run: number,
    body: NodeJS.ReadableStream,
    declared?: number,
    /** The run's image name (the same in every store); a fresh one when absent. */
    named?: string,
  ): Promise<Pending> {
    if (named !== undefined && !NAME.test(named))
      throw new Error(`sysimg: image name ${JSON.stringify(named)} is not usable in a file name`);
    const name = named ?? imageName(host, this.now());
    const free = await this.admit(declared);
    const partial = join(this.dir, `${name}.tar.zst.partial`);
    const meter = new UploadMeter(`sysimg ${name}`, this.dir, this.limits, free);
    const tap = new Sha256Tap();
    const sink = pipeline(meter, tap, createWriteStream(partial, { flags: "wx", mode: 0o600 }));
    finished(body).catch((err: Error) => meter.destroy(err));
    body.pipe(meter);
    try {
      await sink;
    } catch (err) {
      body.unpipe(meter);
      await rm(partial, { force: true });
      if (err instanceof UploadRefused) throw err;
      const why = `sysimg ${name}: upload broke off after ${meter.bytes} bytes: ${(err as Error).message}`;
      throw isNoSpace(err)
        ? new UploadRefused("no-space", why, { cause: err })
        : new Error(why, { cause: err });
    }
    const old = this.pending.get(run);
    if (old) await rm(join(this.dir, `${old.name}.tar.zst.partial`), { force: true });
    const p = { name, host, bytes: tap.bytes, sha256: tap.sha256() };
    this.pending.set(run, p);
    return p;
  }

  /**
   * Makes run `run`'s upload an image if `sha256` is what arrived; else drops
   * it and says so. Resolves only once archive and JSON are on disk (fsync'ed,
   * folder too); on failure neither is left.
   */
  async commit(
    run: number,
    sha256: string,
    source: Record<string, unknown> = {},
  ): Promise<SysImage> {
    const p = this.pending.get(run);
    if (!p)
      throw new Error(`sysimg: run ${run} has no upload waiting (or the server restarted since)`);
    this.pending.delete(run);
    const partial = join(this.dir, `${p.name}.tar.zst.partial`);
    if (sha256 !== p.sha256) {
      await rm(partial, { force: true });
      throw new Error(
        `sysimg ${p.name}: sha256 ${p.sha256} arrived, the payload sent ${sha256}: upload dropped`,
      );
    }
    const image: SysImage = {
      name: p.name,
      host: p.host,
      run,
      bytes: p.bytes,
      sha256: p.sha256,
      created: this.now().toISOString(),
      source,
    };
    const archive = join(this.dir, `${p.name}.tar.zst`);
    try {
      await syncFile(partial);
      await rename(partial, archive);
      // The JSON's rename is the commit point; writeFileAtomic fsyncs the folder after it.
      await writeFileAtomic(
        join(this.dir, `${p.name}.json`),
        `${JSON.stringify(image, null, 2)}\n`,
        {
          mode: 0o600,
        },
      );
    } catch (err) {
      await rm(partial, { force: true });
      await rm(archive, { force: true });
      const why = `sysimg ${p.name}: commit failed, upload dropped: ${(err as Error).message}`;
      throw isNoSpace(err)
        ? new UploadRefused("no-space", why, { cause: err })
        : new Error(why, { cause: err });
    }
    return image;
  }

  /** Committed images, newest first; a file that is not one is skipped and logged. */
  async list(): Promise<SysImage[]> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    const out: SysImage[] = [];
    for (const f of files) {
      if (!f.endsWith(".json") || isAtomicTemp(f)) continue;
      try {
        const found = await this.find(f.slice(0, -".json".length));
        if (found) out.push(found.image);
      } catch (err) {
        this.opts.log?.warn(
          { file: join(this.dir, f), err: (err as Error).message },
          "sysimg: metadata unreadable, image not listed",
        );
      }
    }
    return out.sort((a, b) => b.created.localeCompare(a.created));
  }

  /**
   * A committed image and its archive's path; undefined for a name that is
   * not one (bad characters, no metadata, or no archive beside it). Throws,
   * naming the file, when the metadata is there but is not an image record.
   */
  async find(name: string): Promise<{ image: SysImage; file: string } | undefined> {
    if (!NAME.test(name)) return undefined;
    const metaFile = join(this.dir, `${name}.json`);
    const file = join(this.dir, `${name}.tar.zst`);
    const text = await readFile(metaFile, "utf8").catch(() => undefined);
    if (text === undefined || !(await stat(file).catch(() => undefined))) return undefined;
    let image: unknown;
    try {
      image = JSON.parse(text);
    } catch (err) {
      throw new Error(`sysimg: ${metaFile}: ${(err as Error).message}`, { cause: err });
    }
    if (!isSysImage(image))
      throw new Error(
        `sysimg: ${metaFile}: not an image record (name, host, bytes, sha256, created)`,
      );
    return image.name === name ? { image, file } : undefined;
  }

  /**
   * Retention: removes `host`'s images beyond the `keep` newest, except
   * those in `protect` (the one just written, images an active deploy
   * names). The JSON goes first: without it the archive is not an image,
   * and a crash in between leaves what open() removes. Returns the names removed.
   */
  async prune(host: string, keep: number, protect: Set<string>): Promise<string[]> {
    const doomed = pruneChoice(
      (await this.list()).filter((i) => i.host === host),
      keep,
      protect,
    );
    for (const name of doomed) {
      await rm(join(this.dir, `${name}.json`), { force: true });
      await rm(join(this.dir, `${name}.tar.zst`), { force: true });
    }
    return doomed;
  }

  /** Path of a committed image's archive; undefined for any name that is not one. */
  async path(name: string): Promise<string | undefined> {
    return (await this.find(name))?.file;
  }
}
