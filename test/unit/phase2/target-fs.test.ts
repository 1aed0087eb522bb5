import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  cleanEntryName,
  isProtected,
  parseIdFile,
  resolveParent,
} from "../../../payload/phase2/target-fs.ts";

test("entry names: clean relative paths only, never /home", () => {
  assert.deepEqual(cleanEntryName("etc/motd"), { rel: "etc/motd" });
  assert.deepEqual(cleanEntryName("./etc/ssh/"), { rel: "etc/ssh" });
  assert.deepEqual(cleanEntryName("../etc/passwd"), { error: "path escapes the tree" });
  assert.deepEqual(cleanEntryName("etc/../../x"), { error: "path escapes the tree" });
  assert.deepEqual(cleanEntryName("/etc/passwd"), { error: "absolute path" });
  assert.deepEqual(cleanEntryName("home/alice/.ssh/authorized_keys"), {
    error: "/home is never written by the overlay",
  });
  assert.deepEqual(cleanEntryName("proc/sys/kernel/x"), {
    error: "/proc is never written by the overlay",
  });
});

test("protect matches the path and everything under it", () => {
  const protect = ["/etc/ssh", "/etc/fstab"];
  assert.equal(isProtected("etc/ssh/sshd_config", protect), "/etc/ssh");
  assert.equal(isProtected("etc/ssh", protect), "/etc/ssh");
  assert.equal(isProtected("etc/sshguard.conf", protect), undefined);
  assert.equal(isProtected("etc/fstab", protect), "/etc/fstab");
});

test("parents resolve as in a chroot; a link into /home is refused", async () => {
  const root = mkdtempSync(path.join(tmpdir(), "p2-root-"));
  try {
    mkdirSync(path.join(root, "usr/lib"), { recursive: true });
    mkdirSync(path.join(root, "home/alice"), { recursive: true });
    mkdirSync(path.join(root, "etc"));
    symlinkSync("usr/lib", path.join(root, "lib")); // merged-usr, relative
    symlinkSync("/usr/lib", path.join(root, "lib64")); // absolute: the target's /usr/lib, not the host's
    symlinkSync("/home/alice", path.join(root, "etc/evil")); // planted link into /home
    symlinkSync("../../../../../home/alice", path.join(root, "etc/evil2"));
    assert.equal(
      (await resolveParent(root, "lib/modules-load.d/x.conf")).rel,
      "usr/lib/modules-load.d/x.conf",
    );
    assert.equal((await resolveParent(root, "lib64/foo")).rel, "usr/lib/foo");
    await assert.rejects(resolveParent(root, "etc/evil/.bashrc"), /resolves to \/home\/alice/);
    await assert.rejects(resolveParent(root, "etc/evil2/.bashrc"), /resolves to \/home\/alice/);
    // the leaf itself is never followed: writing etc/evil replaces the link
    assert.equal((await resolveParent(root, "etc/evil")).rel, "etc/evil");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("passwd/group parsing keeps the first entry of a name", () => {
  const ids = parseIdFile(
    "root:x:0:0::/root:/bin/bash\n# comment\nnginx:x:101:101::/:/sbin/nologin\nnginx:x:999:9\n",
  );
  assert.equal(ids.get("root"), 0);
  assert.equal(ids.get("nginx"), 101);
});
