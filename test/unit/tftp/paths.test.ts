import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { checkName, isInside, resolveInRoot } from "../../../server/tftp/paths.ts";

test("checkName: leading slash and backslashes are root-relative, '..' is refused", () => {
  assert.deepEqual(checkName("/undionly.kpxe"), { ok: true, relative: "undionly.kpxe" });
  assert.deepEqual(checkName("\\efi\\boot\\x.efi"), { ok: true, relative: "efi/boot/x.efi" });
  assert.deepEqual(checkName("./a//b"), { ok: true, relative: "a/b" });
  for (const bad of ["../etc/passwd", "a/../../b", "..\\x", "a/..", "/", ".", "a\0b"]) {
    assert.equal(checkName(bad).ok, false, bad);
  }
});

test("isInside compares whole path components", () => {
  assert.equal(isInside("/srv/tftp", "/srv/tftp/a"), true);
  assert.equal(isInside("/srv/tftp", "/srv/tftp2/a"), false);
  assert.equal(isInside("/srv/tftp", "/srv/tftp"), false);
});

let dir = "";
let root = "";
before(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "am-tftp-paths-")));
  root = join(dir, "root");
  await mkdir(join(root, "sub"), { recursive: true });
  await writeFile(join(root, "sub", "f.bin"), "inside");
  await writeFile(join(dir, "secret"), "outside");
  await symlink(join(dir, "secret"), join(root, "out-link"));
  await symlink("sub/f.bin", join(root, "in-link"));
  await symlink(dir, join(root, "out-dir"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("resolveInRoot serves files and in-root symlinks, with the file's version", async () => {
  const st = await stat(join(root, "sub/f.bin"));
  const want = {
    ok: true,
    path: join(root, "sub/f.bin"),
    size: 6,
    version: { ino: st.ino, size: 6, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs },
  };
  assert.deepEqual(await resolveInRoot(root, "/sub/f.bin"), want);
  assert.deepEqual(await resolveInRoot(root, "in-link"), want);
});

test("resolveInRoot refuses symlinks out, traversal and absolute paths", async () => {
  const out = await resolveInRoot(root, "out-link");
  assert.equal(out.ok, false);
  assert.ok(!out.ok && out.code === 2 && out.message === "access violation");
  const viaDir = await resolveInRoot(root, "out-dir/secret");
  assert.ok(!viaDir.ok && viaDir.code === 2);
  const trav = await resolveInRoot(root, "../secret");
  assert.ok(!trav.ok && trav.code === 2);
  const abs = await resolveInRoot(root, join(dir, "secret"));
  assert.ok(!abs.ok && abs.code === 1, "an absolute path is looked up under the root");
  const missing = await resolveInRoot(root, "nope");
  assert.ok(!missing.ok && missing.code === 1);
  const isDir = await resolveInRoot(root, "sub");
  assert.ok(!isDir.ok && isDir.code === 1);
});
