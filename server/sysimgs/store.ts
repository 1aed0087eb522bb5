// Captured system images (DESIGN.md "Images"): <dir>/<name>.tar.zst with
// <name>.json beside it, name = <host>-<UTC stamp>. An upload is written to
// <name>.tar.zst.partial while it is hashed; it becomes an image only on
// commit, when the sha256 the payload computed equals the one computed here.
// Nothing half-written is ever listed.
import { createWriteStream } from "node:fs";
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Sha256Tap } from "../../payload/verify/hash.ts";

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

export class SysImageStore {
  private pending = new Map<number, Pending>();

  constructor(
    readonly dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Drops uploads a previous process never committed. The folder is 0700 and
   * the files 0600: an image holds the source's shadow hashes and SSH host keys.
   */
  async open(): Promise<this> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    for (const f of await readdir(this.dir))
      if (f.endsWith(".partial")) await rm(join(this.dir, f), { force: true });
    return this;
  }

  /** Streams one upload of run `run` to a partial file; resolves with what was received. */
  async receive(host: string, run: number, body: NodeJS.ReadableStream): Promise<Pending> {
    const name = imageName(host, this.now());
    const partial = join(this.dir, `${name}.tar.zst.partial`);
    const tap = new Sha256Tap();
    try {
      await pipeline(body, tap, createWriteStream(partial, { flags: "wx", mode: 0o600 }));
    } catch (err) {
      await rm(partial, { force: true });
      throw new Error(
        `sysimg ${name}: upload broke off after ${tap.bytes} bytes: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const old = this.pending.get(run);
    if (old) await rm(join(this.dir, `${old.name}.tar.zst.partial`), { force: true });
    const p = { name, host, bytes: tap.bytes, sha256: tap.sha256() };
    this.pending.set(run, p);
    return p;
  }

  /** Makes run `run`'s upload an image if `sha256` is what arrived; else drops it and says so. */
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
    await rename(partial, join(this.dir, `${p.name}.tar.zst`));
    await writeFile(join(this.dir, `${p.name}.json`), `${JSON.stringify(image, null, 2)}\n`, {
      mode: 0o600,
    });
    return image;
  }

  /** Committed images, newest first. */
  async list(): Promise<SysImage[]> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    const out: SysImage[] = [];
    for (const f of files) {
      if (!f.endsWith(".json")) continue;
      const found = await this.find(f.slice(0, -".json".length));
      if (found) out.push(found.image);
    }
    return out.sort((a, b) => b.created.localeCompare(a.created));
  }

  /**
   * A committed image and its archive's path; undefined for a name that is
   * not one (bad characters, no metadata, or no archive beside it).
   */
  async find(name: string): Promise<{ image: SysImage; file: string } | undefined> {
    if (!NAME.test(name)) return undefined;
    const metaFile = join(this.dir, `${name}.json`);
    const file = join(this.dir, `${name}.tar.zst`);
    const text = await readFile(metaFile, "utf8").catch(() => undefined);
    if (text === undefined || !(await stat(file).catch(() => undefined))) return undefined;
    let image: SysImage;
    try {
      image = JSON.parse(text) as SysImage;
    } catch (err) {
      throw new Error(`sysimg: ${metaFile}: ${(err as Error).message}`, { cause: err });
    }
    return image.name === name ? { image, file } : undefined;
  }

  /** Path of a committed image's archive; undefined for any name that is not one. */
  async path(name: string): Promise<string | undefined> {
    return (await this.find(name))?.file;
  }
}
