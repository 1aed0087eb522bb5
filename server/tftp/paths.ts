// Maps a requested TFTP filename onto a file inside the served root, or says
// why not. Two layers: a pure check of the name (no `..`, no NUL, no device
// tricks), then realpath containment, which is what catches symlinks that
// point out of the root.
import { realpath, stat } from "node:fs/promises";
import { sep, join } from "node:path";
import type { FileVersion } from "./content.ts";
import { ERR } from "./packet.ts";

export type NameCheck = { ok: true; relative: string } | { ok: false; reason: string };

/**
 * Pure. A leading `/` means "from the root" (PXE ROMs and pxelinux configs
 * send `/undionly.kpxe`), and backslashes are separators because Windows-era
 * boot loaders send `\boot\x.efi` — both as tftpd-hpa -s and dnsmasq do.
 * Any `..` segment is refused outright rather than normalised away.
 */
export function checkName(filename: string): NameCheck {
  if (filename.includes("\0")) return { ok: false, reason: "filename contains NUL" };
  const segments = filename.replaceAll("\\", "/").split("/");
  const kept: string[] = [];
  for (const seg of segments) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") return { ok: false, reason: `'..' in '${filename}'` };
    kept.push(seg);
  }
  if (kept.length === 0) return { ok: false, reason: `'${filename}' names no file` };
  return { ok: true, relative: kept.join("/") };
}

/** Pure containment test on already-resolved absolute paths. */
export function isInside(realRoot: string, realFile: string): boolean {
  const base = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  return realFile.startsWith(base);
}

export type Resolved =
  | { ok: true; path: string; size: number; version: FileVersion }
  | { ok: false; code: number; message: string; reason: string };

/** Resolves `filename` under `realRoot` (which must itself be a realpath). */
export async function resolveInRoot(realRoot: string, filename: string): Promise<Resolved> {
  const name = checkName(filename);
  if (!name.ok) {
    return {
      ok: false,
      code: ERR.ACCESS_VIOLATION,
      message: "access violation",
      reason: name.reason,
    };
  }
  let real: string;
  try {
    real = await realpath(join(realRoot, name.relative));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") {
      return { ok: false, code: ERR.FILE_NOT_FOUND, message: "file not found", reason: `${code}` };
    }
    return {
      ok: false,
      code: ERR.ACCESS_VIOLATION,
      message: "access violation",
      reason: `${code}`,
    };
  }
  if (!isInside(realRoot, real)) {
    return {
      ok: false,
      code: ERR.ACCESS_VIOLATION,
      message: "access violation",
      reason: `'${filename}' resolves to ${real}, outside ${realRoot}`,
    };
  }
  const st = await stat(real).catch(() => undefined);
  if (!st?.isFile()) {
    return {
      ok: false,
      code: ERR.FILE_NOT_FOUND,
      message: "file not found",
      reason: "not a regular file",
    };
  }
  const { ino, size, mtimeMs, ctimeMs } = st;
  return { ok: true, path: real, size, version: { ino, size, mtimeMs, ctimeMs } };
}
