// images/<id>/{vmlinuz,initrd.img,manifest.json} and the `current` link.
// Each step is atomic (temp dir + rename, temp link + rename) so the server
// never serves half an image.
import { mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
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
