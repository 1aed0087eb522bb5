// Writing into the new root without following a stage3 symlink out of it
// (/etc/resolv.conf, /etc/localtime are symlinks in a stage3).
import { chmod, chown, lstat, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { PlannedFile } from "../plan/types.ts";

export function inTarget(target: string, p: string): string {
  const rel = path.posix.normalize(p).replace(/^\/+/, "");
  if (rel === ".." || rel.startsWith("../")) throw new Error(`${p}: escapes the target ${target}`);
  return path.join(target, rel);
}

export async function writeTargetFile(
  target: string,
  f: PlannedFile,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const dest = inTarget(target, f.path);
  await mkdir(path.dirname(dest), { recursive: true });
  const st = await lstat(dest).catch(() => null);
  if (st?.isSymbolicLink()) await rm(dest);
  await writeFile(dest, f.content, { mode: f.mode });
  await chmod(dest, f.mode); // writeFile's mode is masked by umask and ignored for an existing file
  if (owner) await chown(dest, owner.uid, owner.gid);
}
