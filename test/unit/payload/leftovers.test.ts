import { test } from "node:test";
import assert from "node:assert/strict";
import { rootedIn } from "../../../payload/steps/leftovers.ts";

const procs = [
  { pid: 1, root: "/", cwd: "/" },
  { pid: 10, root: "/mnt/gentoo", cwd: "/mnt/gentoo/root" }, // gpg-agent chrooted by getuto
  { pid: 11, root: "/", cwd: "/mnt/gentoo/var/tmp" }, // a shell left in the target
  { pid: 12, root: "/", cwd: "/mnt/gentoo-other" }, // a sibling path, not inside
  { pid: 13, root: "/mnt/gentoo", cwd: "/" },
  { pid: 99, root: "/mnt/gentoo", cwd: "/mnt/gentoo" }, // the payload itself
];

test("processes rooted in or working under the target, not siblings, not ourselves", () => {
  assert.deepEqual(rootedIn(procs, "/mnt/gentoo/", 99), [10, 11, 13]);
});

test("the target / selects nothing (every process lives there)", () => {
  assert.deepEqual(rootedIn(procs, "/", 99), []);
});
