// Walks hosts/<host>/files/ into the list of tar entries the overlay stream
// carries, refusing anything that could land outside the target's / or on
// /home once the payload lays it down.
import { lstat, readdir, readlink, realpath } from "node:fs/promises";
import path from "node:path";

export interface OverlayAttrs {
  user?: string;
  group?: string;
  mode?: number;
}

export interface PackOptions {
  /** Per-path owner/mode, keyed by path relative to the tree ("etc/ssh/ssh_host_ed25519_key"). */
  attrs?: Record<string, OverlayAttrs>;
  /** Owner names when attrs say nothing (the payload maps names via the target's passwd). */
  defaultUser?: string;
  defaultGroup?: string;
  /** A fixed mtime makes the stream byte-identical for identical trees. */
  mtime?: Date;
}

export interface OverlayEntry {
  /** Relative, '/'-separated, no leading './'. */
  name: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  uname: string;
  gname: string;
  size: number;
  linkname?: string;
  /** Source path on the server. */
  source: string;
  mtime: Date;
}

export class OverlayError extends Error {
  override name = "OverlayError";
}

/** Top-level directories the payload never writes: /home is the user's; the rest are kernel/runtime. */
export const FORBIDDEN_TOP = ["home", "proc", "sys", "dev", "run"];

function forbidden(rel: string): boolean {
  const top = rel.split("/")[0]!;
  return FORBIDDEN_TOP.includes(top);
}

/**
 * Where a symlink at `rel` pointing at `target` lands, relative to the tree
 * root, or null if it climbs out. Absolute targets are refused: the tree
 * is the target's /, so links inside it are written relative (../usr/...).
 */
export function symlinkDestination(rel: string, target: string): string | null {
  if (target.startsWith("/")) return null;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target));
  if (joined === ".." || joined.startsWith("../")) return null;
  return joined === "." ? "" : joined;
}

export async function scanOverlay(dir: string, opts: PackOptions = {}): Promise<OverlayEntry[]> {
  let root: string;
  let link: string | undefined;
  try {
    if ((await lstat(dir)).isSymbolicLink()) link = await readlink(dir);
    root = await realpath(dir);
  } catch (cause) {
    throw new OverlayError(`overlay: ${dir}: cannot open the tree`, { cause });
  }
  // hosts/web1/files -> /root/.ssh would pack the server's own files; the
  // host loader refuses it too, this guards every other caller.
  if (link !== undefined) {
    throw new OverlayError(
      `overlay: ${dir}: a symlink (to ${link}); the tree must be a real folder`,
    );
  }
  const attrs = opts.attrs ?? {};
  for (const key of Object.keys(attrs)) {
    const norm = path.posix.normalize(key);
    if (key.startsWith("/") || norm === ".." || norm.startsWith("../") || norm !== key) {
      throw new OverlayError(`overlay: ${dir}: attrs: ${JSON.stringify(key)} escapes the tree`);
    }
  }
  const entries: OverlayEntry[] = [];
  await walk(root, "", entries, opts);
  const names = new Set(entries.map((e) => e.name));
  for (const key of Object.keys(attrs)) {
    if (!names.has(key)) {
      throw new OverlayError(`overlay: ${dir}: attrs: ${key}: no such file in the tree`);
    }
  }
  return entries;
}

async function walk(root: string, relDir: string, out: OverlayEntry[], opts: PackOptions) {
  const abs = relDir === "" ? root : path.join(root, relDir);
  const names = (await readdir(abs)).sort();
  for (const n of names) {
    const rel = relDir === "" ? n : `${relDir}/${n}`;
    const source = path.join(root, rel);
    if (forbidden(rel)) {
      throw new OverlayError(`overlay: ${source}: /${rel} is never written by the overlay`);
    }
    const st = await lstat(source);
    const a = opts.attrs?.[rel] ?? {};
    const base = {
      name: rel,
      uname: a.user ?? opts.defaultUser ?? "root",
      gname: a.group ?? opts.defaultGroup ?? "root",
      source,
      mtime: opts.mtime ?? st.mtime,
    };
    if (st.isSymbolicLink()) {
      const target = await readlink(source);
      const dest = symlinkDestination(rel, target);
      if (dest === null) {
        throw new OverlayError(`overlay: ${source}: symlink to ${target} points out of the tree`);
      }
      if (dest !== "" && forbidden(dest)) {
        throw new OverlayError(`overlay: ${source}: symlink to ${target} points into /${dest}`);
      }
      out.push({ ...base, type: "symlink", mode: 0o777, size: 0, linkname: target });
    } else if (st.isDirectory()) {
      out.push({ ...base, type: "directory", mode: a.mode ?? st.mode & 0o7777, size: 0 });
      await walk(root, rel, out, opts);
    } else if (st.isFile()) {
      out.push({ ...base, type: "file", mode: a.mode ?? st.mode & 0o7777, size: st.size });
    } else {
      throw new OverlayError(`overlay: ${source}: not a regular file, directory or symlink`);
    }
  }
}
