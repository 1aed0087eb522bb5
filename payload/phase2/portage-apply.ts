// The I/O half of the portage step: package.* as directories, and writes
// that only touch a file whose content differs.
import { lstat, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { LOCAL_FILE, PACKAGE_DIRS } from "./portage.ts";

/**
 * A stage3 may ship /etc/portage/package.use as a file; phase 2 writes into
 * package.use/ so the host's lines and the spec's can live side by side.
 * The old file's lines are kept as package.use/00-local.
 */
export async function ensurePortageDirs(root: string): Promise<string[]> {
  const converted: string[] = [];
  for (const name of PACKAGE_DIRS) {
    const p = path.join(root, "etc/portage", name);
    const st = await lstat(p).catch(() => null);
    if (st?.isFile()) {
      const tmp = `${p}.automagic-old`;
      await rename(p, tmp);
      await mkdir(p, { mode: 0o755 });
      await rename(tmp, path.join(p, LOCAL_FILE));
      converted.push(`/etc/portage/${name}`);
    }
  }
  return converted;
}

/** Writes content if the file differs (or is missing); true if it wrote. */
export async function writeIfChanged(abs: string, content: string, mode: number): Promise<boolean> {
  const cur = await readFile(abs, "utf8").catch(() => undefined);
  if (cur === content) return false;
  await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
  const tmp = `${abs}.automagic-tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, abs);
  return true;
}
