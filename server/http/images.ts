// The netboot images on disk (images/<id>/{vmlinuz,initrd.img}, images/current
// -> <id>) and their content addresses. URLs carry a SHA-256 prefix, so a
// rebuilt image gets new URLs and no cache can hand out the old bytes.
import { readFile, readlink, realpath, stat } from "node:fs/promises";
import { basename, join, sep } from "node:path";
import { sha256File } from "../../shared/hash.ts";
// The payload binary in an image folder: served on the admin API only, never to netboot.
import { PAYLOAD_FILE } from "../../image-builder/publish.ts";

export const IMAGE_FILES = ["vmlinuz", "initrd.img"] as const;
export type ImageFileName = (typeof IMAGE_FILES)[number];

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface ImageFile {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface CurrentImage {
  id: string;
  files: Record<ImageFileName, ImageFile>;
  /** The kernel arguments the image was built for (manifest.json `kernelArgs`), if usable. */
  kernelArgs?: string;
  /** Why the manifest's kernelArgs were not used, for the log. */
  warning?: string;
}

/**
 * Pure: the manifest's kernelArgs, if they can go on an iPXE `kernel` line
 * as they are: printable ASCII, no `$` (iPXE would expand it) and no `#`.
 */
export function usableKernelArgs(
  manifestText: string | undefined,
  where: string,
): { args?: string; warning?: string } {
  if (manifestText === undefined) return {};
  let args: unknown;
  try {
    args = (JSON.parse(manifestText) as { kernelArgs?: unknown }).kernelArgs;
  } catch (err) {
    return { warning: `${where}: not JSON (${(err as Error).message}); default kernel arguments` };
  }
  if (args === undefined) return {};
  if (typeof args !== "string" || !/^[\x20-\x7e]*$/.test(args) || /[$#]/.test(args)) {
    return {
      warning: `${where}: kernelArgs must be printable ASCII without $ or #; default kernel arguments`,
    };
  }
  return args.trim() ? { args: args.trim().replace(/\s+/g, " ") } : {};
}

export function isImageId(id: string): boolean {
  return ID.test(id) && id !== "current";
}

export function isImageFile(name: string): name is ImageFileName {
  return (IMAGE_FILES as readonly string[]).includes(name);
}

/** URL path of a file under its content address: /images/<id>/<sha16>/<file>. */
export function artifactPath(id: string, file: ImageFileName, sha256: string): string {
  return `/images/${encodeURIComponent(id)}/${sha256.slice(0, 16)}/${file}`;
}

export class ImageCatalog {
  // Hashing a 200 MiB initrd takes about a second: do it once per file version.
  private readonly hashes = new Map<string, Promise<string>>();
  // An image dir is written once under its id: read its manifest once, not per boot.ipxe.
  private readonly kernelArgs = new Map<string, Promise<{ args?: string; warning?: string }>>();

  constructor(readonly dir: string) {}

  /** The image `current` points at, or undefined when there is none (yet). */
  async current(): Promise<CurrentImage | undefined> {
    let id: string;
    try {
      id = basename(await readlink(join(this.dir, "current")));
    } catch {
      return undefined;
    }
    if (!isImageId(id)) return undefined;
    const vmlinuz = await this.file(id, "vmlinuz");
    const initrd = await this.file(id, "initrd.img");
    if (!vmlinuz || !initrd) return undefined;
    let manifest = this.kernelArgs.get(id);
    if (!manifest) {
      const where = join(this.dir, id, "manifest.json");
      manifest = readFile(where, "utf8").then(
        (text) => usableKernelArgs(text, where),
        () => usableKernelArgs(undefined, where),
      );
      this.kernelArgs.set(id, manifest);
    }
    const { args, warning } = await manifest;
    return {
      id,
      files: { vmlinuz, "initrd.img": initrd },
      ...(args ? { kernelArgs: args } : {}),
      ...(warning ? { warning } : {}),
    };
  }

  /** A file of image `id`, or undefined if absent or outside the images dir. */
  async file(id: string, name: ImageFileName): Promise<ImageFile | undefined> {
    if (!isImageFile(name)) return undefined;
    const found = await this.resolve(id, name);
    if (!found) return undefined;
    const { path, st } = found;
    const key = `${path}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let hash = this.hashes.get(key);
    if (!hash) {
      hash = sha256File(path);
      this.hashes.set(key, hash);
      hash.catch(() => this.hashes.delete(key));
    }
    return { path, size: st.size, mtimeMs: st.mtimeMs, sha256: await hash };
  }

  /**
   * The single-file payload published beside the kernel (`reinstall --via
   * ssh` copies it to the machine), with the sha256 the image's manifest
   * names for it: the CLI checks what it received against that.
   */
  async payload(id: string): Promise<{ path: string; size: number; sha256: string } | undefined> {
    const found = await this.resolve(id, PAYLOAD_FILE);
    if (!found) return undefined;
    const text = await readFile(join(this.dir, id, "manifest.json"), "utf8").catch(() => "{}");
    let sha: unknown;
    try {
      sha = (JSON.parse(text) as { payload?: { binarySha256?: unknown } }).payload?.binarySha256;
    } catch {
      return undefined;
    }
    if (typeof sha !== "string" || !/^[0-9a-f]{64}$/.test(sha)) return undefined;
    return { path: found.path, size: found.st.size, sha256: sha };
  }

  /** A regular file of image `id` by its real path, never one outside the images dir. */
  private async resolve(id: string, name: string) {
    if (!isImageId(id)) return undefined;
    let path: string;
    try {
      const root = await realpath(this.dir);
      path = await realpath(join(this.dir, id, name));
      // A symlink inside an image dir must not lead out of the images tree.
      if (!path.startsWith(root + sep)) return undefined;
    } catch {
      return undefined;
    }
    const st = await stat(path);
    return st.isFile() ? { path, st } : undefined;
  }
}
