// What both release tests start from: `make release`'s tarball, and an empty
// root that sees the host's /usr (mounted there read-only by each test) and
// nothing of this checkout.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { execa } from "execa";

export const REPO = resolve(import.meta.dirname, "../../..");
export const CLEAN_ENV = ["/usr/bin/env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin"];

/** contrib/release/build.sh (make release); the tarball's absolute path. */
export async function buildRelease(): Promise<string> {
  const node = (await execa("readlink", ["-f", process.execPath])).stdout;
  assert.ok(node.startsWith("/usr/"), `node must live under /usr to be seen in the root (${node})`);
  const built = await execa("bash", ["contrib/release/build.sh"], { cwd: REPO });
  return join(REPO, built.stdout.trim().split("\n").at(-1)!);
}

/**
 * A temp root with empty usr/ (bin, lib, lib64, sbin link into it), root's
 * passwd entry, the host's ld.so.cache and the tarball in `tarballDir`.
 */
export function makeRoot(prefix: string, tarball: string, tarballDir = "tmp"): string {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-`));
  assert.ok(!root.startsWith(REPO));
  for (const d of ["usr", "dev", "proc", "tmp", "etc", "opt", "var", "root"])
    mkdirSync(join(root, d), { recursive: true });
  for (const l of ["bin", "lib", "lib64", "sbin"]) symlinkSync(`usr/${l}`, join(root, l));
  copyFileSync("/etc/ld.so.cache", join(root, "etc/ld.so.cache"));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  mkdirSync(join(root, tarballDir), { recursive: true });
  copyFileSync(tarball, join(root, tarballDir, basename(tarball)));
  return root;
}

/** The shell line that unpacks the tarball in `dir` and runs its install.sh. */
export function installLine(tarball: string, dir = "/tmp"): string {
  return `cd ${dir} && tar -xzf ${basename(tarball)} && cd ${basename(tarball, ".tar.gz")} && ./install.sh`;
}
