// Layout ab: the boot state on the shared partition (grub/grubenv), read
// without writing (the probe reads it where the running system has the
// partition mounted, else through a read-only mount).
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { InstallSpec } from "../spec/schema.ts";
import { parseGrubEnv } from "../render/grubenv.ts";
import { SHARED_GRUBENV } from "../render/grub-ab.ts";
import type { ProbedPartition } from "./types.ts";

/** A mountpoint of the running system that is a directory (not "[SWAP]"). */
export function mountedAt(p: Pick<ProbedPartition, "mountpoints">): string | undefined {
  return p.mountpoints.find((m) => m.startsWith("/"));
}

/** Reads `grub/grubenv` in `dir`: its variables, none (no file), or why it is unreadable. */
export async function readGrubEnvIn(
  dir: string,
): Promise<{ env?: Record<string, string>; error?: string }> {
  const file = path.join(dir, SHARED_GRUBENV);
  let block: Buffer;
  try {
    block = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    return { error: `${SHARED_GRUBENV}: ${(err as Error).message}` };
  }
  try {
    return { env: parseGrubEnv(block) };
  } catch (err) {
    return { error: `${SHARED_GRUBENV}: ${(err as Error).message}` };
  }
}

/** The shared partition a layout ab that adopts slots names, for the spec's firmware. */
export function sharedRef(spec: InstallSpec) {
  const l = spec.layout;
  if (l.mode !== "ab" || !l.slots) return undefined;
  return spec.firmware === "uefi" ? l.esp : l.boot;
}
