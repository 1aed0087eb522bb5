// images/<id>/{vmlinuz,initrd.img,automagic-install,manifest.json} and the
// `current` link. automagic-install is the single-file payload (the manifest's
// payload.binarySha256): `reinstall --via ssh` copies it to a running system.
// Each step is atomic (temp dir + rename, temp link + rename) so the server
// never serves half an image.
import {
  copyFile,
  mkdir,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { existsSync } from "node:fs";
import { sha256File } from "../shared/hash.ts";
import { join } from "node:path";
import type { Manifest } from "./manifest.ts";

export async function publishImage(
  imagesDir: string,
  staged: string,
  manifest: Manifest,
  makeCurrent: boolean,
): Promise<string> {
  await mkdir(imagesDir, { recursive: true });
  await writeFile(join(staged, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  const dir = join(imagesDir, manifest.id);
  await rm(dir, { recursive: true, force: true });
  await rename(staged, dir);
  if (makeCurrent) await setCurrent(imagesDir, manifest.id);
  return dir;
}

export const PAYLOAD_FILE = "automagic-install";

/**
 * An image published before the payload binary was: add it when the build's
 * binary is the one its manifest names (same content, so same image).
 */
export async function addPayloadBinary(
  dir: string,
  binary: string,
  manifest: Manifest,
): Promise<void> {
  const dest = join(dir, PAYLOAD_FILE);
  if (existsSync(dest) || (await sha256File(binary)) !== manifest.payload.binarySha256) return;
  const tmp = `${dest}.${process.pid}`;
  await copyFile(binary, tmp);
  await rename(tmp, dest);
}

export async function setCurrent(imagesDir: string, id: string): Promise<void> {
  const tmp = join(imagesDir, `.current-${process.pid}`);
  await rm(tmp, { force: true });
  await symlink(id, tmp);
  await rename(tmp, join(imagesDir, "current"));
}

export async function currentId(imagesDir: string): Promise<string | undefined> {
  try {
    return await readlink(join(imagesDir, "current"));
  } catch {
    return undefined;
  }
}

const ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{12}$/;

/** Pure: image ids to delete — all but the `keep` newest and `current`. */
export function imagesToPrune(
  names: readonly string[],
  current: string | undefined,
  keep: number,
): string[] {
  const ids = names
    .filter((n) => ID.test(n))
    .sort()
    .reverse();
  return ids.slice(Math.max(keep, 0)).filter((id) => id !== current);
}

/** Deletes old images (see imagesToPrune); returns the deleted ids. */
export async function pruneImages(imagesDir: string, keep: number): Promise<string[]> {
  const gone = imagesToPrune(await readdir(imagesDir), await currentId(imagesDir), keep);
  for (const id of gone) await rm(join(imagesDir, id), { recursive: true, force: true });
  return gone;
}
