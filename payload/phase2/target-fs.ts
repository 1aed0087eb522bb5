// Path and owner handling inside the target root. Phase 2 runs on "/" on the
// real machine but in a chroot directory in tests, so every path is
// resolved as if chrooted: an absolute symlink means the target's /, never
// the host's.
import { lstat, readlink } from "node:fs/promises";
import path from "node:path";

/** Commands run inside the target: directly on the machine, through chroot in tests. */
export function inRoot(root: string, argv: readonly string[]): string[] {
  return root === "/" ? [...argv] : ["chroot", root, ...argv];
}

/** Never written by phase 2's overlay: /home is the user's, the rest belong to the kernel. */
export const FORBIDDEN_TOP = ["home", "proc", "sys", "dev", "run"];

/** A tar entry name -> clean relative path, or an error naming why it is refused. */
export function cleanEntryName(name: string): { rel: string } | { error: string } {
  const stripped = name.replace(/^\.\//, "").replace(/\/+$/, "");
  if (stripped === "" || stripped === ".") return { error: "empty name" };
  if (stripped.startsWith("/")) return { error: "absolute path" };
  if (stripped.includes("\0")) return { error: "NUL in name" };
  const norm = path.posix.normalize(stripped);
  if (norm !== stripped || norm === ".." || norm.startsWith("../")) {
    return { error: "path escapes the tree" };
  }
  if (FORBIDDEN_TOP.includes(norm.split("/")[0]!)) {
    return { error: `/${norm.split("/")[0]} is never written by the overlay` };
  }
  return { rel: norm };
}

/** Whether /rel lies at or under one of the protected absolute paths. */
export function isProtected(rel: string, protect: readonly string[]): string | undefined {
  const abs = `/${rel}`;
  return protect.find((p) => {
    const q = p.replace(/\/+$/, "") || "/";
    return q === "/" || abs === q || abs.startsWith(`${q}/`);
  });
}

export interface FsProbe {
  lstat(p: string): Promise<{ isSymbolicLink(): boolean } | null>;
  readlink(p: string): Promise<string>;
}

export const realFs: FsProbe = {
  async lstat(p) {
    try {
      return await lstat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  },
  readlink: (p) => readlink(p),
};

/**
 * Resolves the *parent directories* of rel inside root, following symlinks
 * the way the kernel would inside a chroot. Returns the real relative path
 * of the parent, or throws if it lands in a forbidden tree (a link to /home
 * must not let the overlay write there). The last component is not
 * followed: a symlink there is replaced, never written through.
 */
export async function resolveParent(root: string, rel: string, fs: FsProbe = realFs) {
  const parts = rel.split("/");
  const leaf = parts.pop()!;
  let resolved: string[] = [];
  let queue = [...parts];
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      resolved.pop(); // like the kernel at /: ".." of the root is the root
      continue;
    }
    const candidate = [...resolved, part];
    const st = await fs.lstat(path.join(root, ...candidate));
    if (st?.isSymbolicLink()) {
      if (++hops > 40) throw new Error(`${rel}: too many levels of symbolic links`);
      const target = await fs.readlink(path.join(root, ...candidate));
      if (target.startsWith("/")) resolved = [];
      queue = [...target.split("/"), ...queue];
      continue;
    }
    resolved = candidate;
  }
  const parent = resolved.join("/");
  if (resolved.length > 0 && FORBIDDEN_TOP.includes(resolved[0]!)) {
    throw new Error(`${rel}: its directory resolves to /${parent}, which the overlay never writes`);
  }
  return { parent, leaf, rel: parent === "" ? leaf : `${parent}/${leaf}` };
}

/** name -> id from passwd or group text (name:x:id:...). */
export function parseIdFile(text: string): Map<string, number> {
  const ids = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const [name, , id] = line.split(":");
    if (name && id !== undefined && /^\d+$/.test(id) && !ids.has(name)) ids.set(name, Number(id));
  }
  return ids;
}
