// Lays the overlay's entries over the target root. Converges: a file whose
// content, mode and owner already match is left untouched, so a second run
// writes nothing. Never writes under /home (nor through a symlink into it),
// never overwrites an existing protected path, never writes through a
// symlink at the destination (it is replaced instead).
import {
  chmod,
  chown,
  lchown,
  lstat,
  mkdir,
  readFile,
  readlink,
  rename,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import type { Stats } from "node:fs";
import path from "node:path";
import { sha256 } from "../../shared/hash.ts";
import type { TarEntry } from "./overlay-read.ts";
import { remapPortagePath } from "./portage.ts";
import { cleanEntryName, isProtected, parseIdFile, resolveParent } from "./target-fs.ts";

export interface ManifestRecord {
  path: string;
  type: TarEntry["type"];
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of a file's content, or a symlink's target. */
  detail: string;
}

export interface ApplyResult {
  records: ManifestRecord[];
  written: string[];
  unchanged: number;
  protected: string[];
}

export interface ApplyOptions {
  root: string;
  protect: readonly string[];
  /** Which (remapped) relative paths this pass handles. */
  filter: (rel: string) => boolean;
}

export async function applyOverlay(entries: TarEntry[], opts: ApplyOptions): Promise<ApplyResult> {
  // Read lazily: an empty pass (no overlay) must not need a passwd file.
  let ids: { users: Map<string, number>; groups: Map<string, number> } | undefined;
  const owners = async () =>
    (ids ??= {
      users: parseIdFile(await readText(path.join(opts.root, "etc/passwd"))),
      groups: parseIdFile(await readText(path.join(opts.root, "etc/group"))),
    });
  const result: ApplyResult = { records: [], written: [], unchanged: 0, protected: [] };
  for (const e of entries) {
    const clean = cleanEntryName(e.name);
    if ("error" in clean) throw new Error(`overlay: ${e.name}: ${clean.error}`);
    const mapped = remapPortagePath(clean.rel, e.type);
    if (!opts.filter(mapped)) continue;
    const { rel } = await resolveParent(opts.root, mapped);
    const abs = path.join(opts.root, rel);
    const existing = await lstatOrNull(abs);
    const prot = isProtected(rel, opts.protect);
    if (prot !== undefined && existing) {
      result.protected.push(`/${rel}`);
      continue;
    }
    const { users, groups } = await owners();
    const uid = users.get(e.uname);
    const gid = groups.get(e.gname);
    if (uid === undefined)
      throw new Error(`overlay: /${rel}: owner ${e.uname} is not in the target's /etc/passwd`);
    if (gid === undefined)
      throw new Error(`overlay: /${rel}: group ${e.gname} is not in the target's /etc/group`);
    const changed = await applyOne(e, abs, existing, uid, gid, rel);
    const detail =
      e.type === "file" ? sha256(e.data) : e.type === "symlink" ? `-> ${e.linkname}` : "-";
    result.records.push({ path: `/${rel}`, type: e.type, mode: e.mode, uid, gid, detail });
    if (changed) result.written.push(`/${rel}`);
    else result.unchanged++;
  }
  return result;
}

async function applyOne(
  e: TarEntry,
  abs: string,
  existing: Stats | null,
  uid: number,
  gid: number,
  rel: string,
): Promise<boolean> {
  await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
  if (e.type === "directory") {
    // An existing directory (or a merged-usr link like /lib -> usr/lib) is
    // left as the system has it: a checkout's umask must not chmod /etc.
    if (existing?.isSymbolicLink() || existing?.isDirectory()) return false;
    if (existing) throw new Error(`overlay: /${rel}: exists and is not a directory`);
    await mkdir(abs, { mode: e.mode });
    return settle(abs, null, e.mode, uid, gid);
  }
  if (e.type === "symlink") {
    if (existing?.isDirectory())
      throw new Error(`overlay: /${rel}: is a directory, cannot become a symlink`);
    if (
      existing?.isSymbolicLink() &&
      (await readlinkSafe(abs)) === e.linkname &&
      existing.uid === uid &&
      existing.gid === gid
    ) {
      return false;
    }
    if (existing) await unlink(abs);
    await symlink(e.linkname!, abs);
    await lchown(abs, uid, gid);
    return true;
  }
  if (existing?.isDirectory())
    throw new Error(`overlay: /${rel}: is a directory, cannot become a file`);
  if (existing?.isFile() && (await sameContent(abs, e.data))) {
    return settle(abs, existing, e.mode, uid, gid);
  }
  // Write beside, then rename: a crash never leaves a half-written config,
  // and a symlink at the destination is replaced rather than followed.
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.automagic-tmp`);
  await writeFile(tmp, e.data, { mode: e.mode });
  await chown(tmp, uid, gid);
  await chmod(tmp, e.mode); // after chown: chown clears setuid bits
  await rename(tmp, abs);
  return true;
}

/** Fixes mode/owner of an existing path; true if anything changed. */
async function settle(abs: string, st: Stats | null, mode: number, uid: number, gid: number) {
  if (st && (st.mode & 0o7777) === mode && st.uid === uid && st.gid === gid) return false;
  await chown(abs, uid, gid);
  await chmod(abs, mode);
  return true;
}

async function sameContent(abs: string, data: Buffer): Promise<boolean> {
  const cur = await readFile(abs);
  return cur.equals(data);
}

async function readlinkSafe(abs: string): Promise<string | null> {
  try {
    return await readlink(abs);
  } catch {
    return null;
  }
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function readText(p: string): Promise<string> {
  try {
    return await readFile(p, "utf8");
  } catch (cause) {
    throw new Error(`overlay: cannot read ${p} (owners are mapped through it)`, { cause });
  }
}

/** Pure: the manifest text, one line per path, sorted, so equal trees give equal files. */
export function renderManifest(records: readonly ManifestRecord[]): string {
  const lines = [...records]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map(
      (r) =>
        `${r.type}\t${r.mode.toString(8).padStart(4, "0")}\t${r.uid}:${r.gid}\t${r.detail}\t${r.path}`,
    );
  return `# automagic overlay manifest v1: type mode uid:gid sha256|link path\n${lines.join("\n")}\n`;
}
