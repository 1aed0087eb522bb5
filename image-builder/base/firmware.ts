// Firmware for the kept drivers. Some NICs pass no traffic without a blob
// the driver loads at probe time (bnx2, bnx2x, tg3 on some parts, Realtek
// r8169/r8152 PHY fixes, qede, ice's DDP package): without it the RAM system
// has no network and the install never starts. The firmware packages
// (packages.ts) bring hundreds of MB; only the files a kept module names in
// its modinfo `firmware` fields stay, so the image grows by what its drivers
// can load and no more. Pure selection; `pruneFirmware` is the thin I/O.
import { lstat, readdir, readFile, readlink, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { execa } from "execa";
import { parseModulesDep } from "./modules.ts";

/** Below the root (merged /usr: /lib/firmware is this). */
export const FIRMWARE_DIR = "usr/lib/firmware";

/** The kernel loads these compressed forms of a named file (Debian's kernel: xz and zstd). */
const COMPRESSED = ["", ".xz", ".zst"];

/** Pure: the distinct firmware names in `modinfo -F firmware` output, sorted. */
export function parseFirmwareNames(text: string): string[] {
  return [
    ...new Set(
      text
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  ].sort();
}

/** A file below the firmware folder: a symlink's target (relative to that folder), or null. */
export type FirmwareTree = ReadonlyMap<string, string | null>;

/** Pure: a symlink's target made relative to the firmware folder (undefined: outside it). */
export function resolveLink(linkPath: string, target: string): string | undefined {
  const abs = target.startsWith("/")
    ? posix.normalize(target).replace(/^\/(usr\/)?lib\/firmware\//, "")
    : posix.normalize(posix.join(posix.dirname(linkPath), target));
  return abs.startsWith("/") || abs.startsWith("../") ? undefined : abs;
}

function globRegExp(name: string): RegExp {
  const body = name.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*");
  return new RegExp(`^${body}(${COMPRESSED.map((c) => c.replace(".", "\\.")).join("|")})$`);
}

/**
 * Pure: the files to keep for the `named` firmware (each file, in any form
 * the kernel reads, plus every link it goes through), and the names no file
 * answers (licence keeps them out of Debian, or the part is too old).
 */
export function selectFirmware(
  named: readonly string[],
  tree: FirmwareTree,
): { keep: Set<string>; missing: string[] } {
  const keep = new Set<string>();
  const missing: string[] = [];
  const files = [...tree.keys()];
  for (const name of named) {
    const re = globRegExp(name);
    const hits = name.includes("*")
      ? files.filter((f) => re.test(f))
      : COMPRESSED.map((c) => name + c).filter((f) => tree.has(f));
    if (hits.length === 0) missing.push(name);
    for (const hit of hits) {
      // follow a chain of links; a dangling one keeps nothing more
      let f: string | null | undefined = hit;
      for (let hops = 0; f && tree.has(f) && !keep.has(f) && hops < 16; hops++) {
        keep.add(f);
        f = tree.get(f);
      }
    }
  }
  return { keep, missing };
}

async function readTree(dir: string, rel = "", out = new Map<string, string | null>()) {
  let entries;
  try {
    entries = await readdir(join(dir, rel), { withFileTypes: true });
  } catch {
    return out; // no firmware folder at all
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await readTree(dir, r, out);
    else if (e.isSymbolicLink()) {
      const to = resolveLink(r, await readlink(join(dir, r)));
      out.set(r, to ?? null);
    } else out.set(r, null);
  }
  return out;
}

export interface FirmwareResult {
  /** Files kept, relative to /usr/lib/firmware, sorted. */
  files: string[];
  /** Names a kept module asks for that no firmware package carries. */
  missing: string[];
  bytes: number;
}

/**
 * Keeps in `root` (a hard-link copy, modules already pruned) only the
 * firmware files its kept modules name; removes the rest.
 */
export async function pruneFirmware(root: string, kernelVersion: string): Promise<FirmwareResult> {
  const modDir = `/usr/lib/modules/${kernelVersion}`;
  const deps = parseModulesDep(await readFile(join(root, modDir, "modules.dep"), "utf8"));
  const paths = [...deps.keys()].map((m) => `${modDir}/${m}`);
  let named: string[];
  try {
    const r = await execa("chroot", [root, "/usr/sbin/modinfo", "-F", "firmware", ...paths]);
    named = parseFirmwareNames(r.stdout);
  } catch (err) {
    throw new Error(`firmware: chroot ${root} modinfo -F firmware failed`, { cause: err });
  }
  const dir = join(root, FIRMWARE_DIR);
  const tree = await readTree(dir);
  const { keep, missing } = selectFirmware(named, tree);
  let bytes = 0;
  for (const f of tree.keys()) {
    if (keep.has(f)) bytes += (await lstat(join(dir, f))).size;
    else await rm(join(dir, f), { force: true });
  }
  // the emptied folders go too (find prints nothing when none is left)
  await execa("find", [dir, "-mindepth", "1", "-depth", "-type", "d", "-empty", "-delete"], {
    reject: false,
  });
  return { files: [...keep].sort(), missing, bytes };
}
