import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec, formatPath, GENTOO_RELEASE_KEY } from "../../payload/spec/schema.ts";

const minimal = {
  version: 1,
  host: "t1",
  hostname: "t1",
  macs: ["52:54:00:12:34:56"],
  firmware: "bios",
  disk: { serial: "QM00001" },
  layout: { mode: "keep", root: { partlabel: "root" } },
  home: { ref: { label: "home" }, fs: "ext4" },
  rootfs: "ext4",
  init: "openrc",
  stage3: {
    variant: "openrc",
    mirror: "http://10.0.0.1/mirror/",
    trustedKeys: [GENTOO_RELEASE_KEY],
  },
  portage: { profile: "default/linux/amd64/23.0" },
  locale: { locales: ["en_US.UTF-8 UTF-8"], lang: "en_US.UTF-8" },
  timezone: "UTC",
  keymap: "us",
  network: { mode: "dhcp" },
  kernel: {},
  services: {},
  overlay: { present: false },
  postInstall: {},
};

test("a minimal spec parses and gets defaults", () => {
  const s = parseInstallSpec(minimal);
  assert.equal(s.portage.binhost, true);
  assert.equal(s.kernel.package, "sys-kernel/gentoo-kernel-bin");
  assert.deepEqual(s.users, []);
});

test("errors name the field path", () => {
  const bad = { ...minimal, users: [{ name: "a", uid: 1000, gid: 1000, password: "hunter2" }] };
  assert.throws(() => parseInstallSpec(bad, "x.json"), /x\.json: users\[0\]\.password: /m);
});

test("a disk selector needs a stable property", () => {
  assert.throws(() => parseInstallSpec({ ...minimal, disk: {} }), /disk: needs at least one/);
});

test("formatPath", () => {
  assert.equal(formatPath(["users", 1, "uid"]), "users[1].uid");
  assert.equal(formatPath([]), "(root)");
});
