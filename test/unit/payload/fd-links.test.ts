// The /dev links Portage needs in the chroot, made when the RAM system's
// devtmpfs lacks them (no udev) and left alone when they exist.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readlink, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureFdLinks } from "../../../payload/steps/chroot.ts";

test("ensureFdLinks: fd and std* point into /proc/self/fd; an existing link is kept", async () => {
  const dev = await mkdtemp(join(tmpdir(), "fdlinks-"));
  try {
    await symlink("/somewhere/else", join(dev, "stdin"));
    await ensureFdLinks(dev);
    assert.equal(await readlink(join(dev, "fd")), "/proc/self/fd");
    assert.equal(await readlink(join(dev, "stdout")), "/proc/self/fd/1");
    assert.equal(await readlink(join(dev, "stderr")), "/proc/self/fd/2");
    assert.equal(await readlink(join(dev, "stdin")), "/somewhere/else");
    await ensureFdLinks(dev); // a second call changes nothing and does not fail
    assert.equal(await readlink(join(dev, "fd")), "/proc/self/fd");
  } finally {
    await rm(dev, { recursive: true, force: true });
  }
});
