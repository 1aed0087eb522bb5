// Disks for install tests: a /home filesystem full of several users' files
// (known UIDs, modes, symlinks, a few thousand files) and a manifest that
// proves, after an install, that nothing in it changed.
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join, relative } from "node:path";
import { execa } from "execa";
import { requireTool } from "./tools.ts";
import { sha256 } from "../../shared/hash.ts";

export interface HomeUser {
  name: string;
  uid: number;
  gid: number;
}

export const HOME_USERS: HomeUser[] = [
  { name: "alice", uid: 1000, gid: 1000 },
  { name: "bob", uid: 1001, gid: 1001 },
];

/** Deterministic pseudo-random bytes so a failure reproduces. */
function bytes(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Fills `dir` (the future /home) with `filesPerUser` files per user. */
export async function populateHome(
  dir: string,
  users = HOME_USERS,
  filesPerUser = 1500,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const u of users) {
    const home = join(dir, u.name);
    await mkdir(join(home, ".ssh"), { recursive: true });
    for (let i = 0; i < filesPerUser; i++) {
      const sub = join(home, `d${i % 20}`, `e${i % 7}`);
      await mkdir(sub, { recursive: true });
      const f = join(sub, `f${i}.bin`);
      await writeFile(f, bytes(u.uid * 100000 + i, 64 + ((i * 37) % 4000)));
      await chmod(f, i % 5 === 0 ? 0o600 : i % 11 === 0 ? 0o755 : 0o644);
    }
    await writeFile(join(home, ".ssh", "authorized_keys"), `# ${u.name}'s keys\n`);
    await chmod(join(home, ".ssh", "authorized_keys"), 0o600);
    await chmod(join(home, ".ssh"), 0o700);
    await symlink("d1/e1/f1.bin", join(home, "link-to-f1"));
    await symlink("/etc/hostname", join(home, "absolute-link"));
    await execa("chown", ["-hR", `${u.uid}:${u.gid}`, home]);
    await chmod(home, 0o750);
  }
  // A directory owned by root with a setgid shared dir, to catch mode resets.
  const shared = join(dir, "shared");
  await mkdir(shared, { recursive: true });
  await chown(shared, 0, 1000);
  await chmod(shared, 0o2775);
}

/** ext4 image labelled `label`, populated from `srcDir` (owners and modes kept by mkfs -d). */
export async function makeExt4Image(
  file: string,
  srcDir: string,
  bytesSize: number,
  label: string,
): Promise<string> {
  requireTool("mkfs.ext4");
  await execa("truncate", ["-s", String(bytesSize), file]);
  await execa("mkfs.ext4", ["-q", "-F", "-L", label, "-d", srcDir, file]);
  const r = await execa("blkid", ["-p", "-s", "UUID", "-o", "value", file]);
  return r.stdout.trim();
}

export interface ManifestEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  uid: number;
  gid: number;
  sha256?: string;
  target?: string;
}

/** Every entry under `root` with owner, mode and content hash, sorted by path. */
export async function manifest(root: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      if (dir === root && name === "lost+found") continue;
      const p = join(dir, name);
      const st = await lstat(p);
      const base = { path: relative(root, p), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isSymbolicLink()) out.push({ ...base, type: "symlink", target: await readlink(p) });
      else if (st.isDirectory()) {
        out.push({ ...base, type: "dir" });
        await walk(p);
      } else {
        out.push({ ...base, type: "file", sha256: sha256(await readFile(p)) });
      }
    }
  }
  const st = await lstat(root);
  out.push({ path: ".", type: "dir", mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  await walk(root);
  return out;
}

/** Human-readable differences between two manifests (empty: identical). */
export function diffManifests(before: ManifestEntry[], after: ManifestEntry[]): string[] {
  const a = new Map(before.map((e) => [e.path, JSON.stringify(e)]));
  const b = new Map(after.map((e) => [e.path, JSON.stringify(e)]));
  const diffs: string[] = [];
  for (const [p, v] of a) {
    if (!b.has(p)) diffs.push(`missing: ${p}`);
    else if (b.get(p) !== v) diffs.push(`changed: ${p}: ${v} -> ${b.get(p)}`);
  }
  for (const p of b.keys()) if (!a.has(p)) diffs.push(`added: ${p}`);
  return diffs;
}

/** Mounts an image read-only, runs `fn` on the mount point, always unmounts. */
export async function withMountedImage<T>(
  image: string,
  mountDir: string,
  fn: (dir: string) => Promise<T>,
  opts: { offset?: number } = {},
): Promise<T> {
  await mkdir(mountDir, { recursive: true });
  const o = ["loop", "ro", ...(opts.offset ? [`offset=${opts.offset}`] : [])].join(",");
  await execa("mount", ["-o", o, image, mountDir]);
  try {
    return await fn(mountDir);
  } finally {
    await execa("umount", [mountDir], { reject: false });
  }
}
