import { test } from "node:test";
import assert from "node:assert/strict";
import { remapPortagePath, renderPortageFiles, syncDue } from "../../../payload/phase2/portage.ts";
import {
  emergeInstallArgv,
  emergeWorldArgv,
  emergeTargets,
} from "../../../payload/render/emerge.ts";
import { assertGolden } from "../../lib/golden.ts";
import { phase2Spec } from "./spec.ts";

test("portage files from the spec (golden), duplicates dropped", () => {
  const files = renderPortageFiles(phase2Spec());
  const text = files.map((f) => `==> ${f.path}\n${f.content}`).join("");
  assertGolden("test/unit/phase2/golden/portage-files.txt", text);
  const use = files.find((f) => f.path.endsWith("package.use/zz-automagic"))!;
  assert.equal(use.content.match(/app-editors\/vim -X/g)?.length, 1);
});

test("an empty list still renders its file, so emptying the spec empties the file", () => {
  const files = renderPortageFiles(phase2Spec({ portage: { profile: "p" } }));
  assert.equal(files.length, 4);
  for (const f of files) assert.match(f.content, /^(#.*\n){2}$/);
});

test("phase-2 emerge: @world and the host's packages updated to the spec, binpkgs, keep-going", () => {
  assert.deepEqual(emergeWorldArgv(phase2Spec()), [
    "emerge",
    "--color=n",
    "--nospinner",
    "--quiet-build=y",
    "--update",
    "--deep",
    "--newuse",
    "--getbinpkg",
    "--keep-going=y",
    "@world",
    "app-editors/vim",
    "www-servers/nginx",
    "@system-tools",
  ]);
  const noBin = phase2Spec({
    portage: { profile: "p", binhost: false, keepGoing: false },
    packages: ["app-misc/tmux", " app-misc/tmux "],
  });
  assert.deepEqual(emergeWorldArgv(noBin).slice(4), [
    "--update",
    "--deep",
    "--newuse",
    "@world",
    "app-misc/tmux",
  ]);
  // No packages: @world is still converged (a changed USE flag rebuilds).
  assert.deepEqual(emergeWorldArgv(phase2Spec({ packages: [] })).slice(-2), [
    "--keep-going=y",
    "@world",
  ]);
});

test("phase-1 emerge: what is missing, installed things stay; targets read back", () => {
  const argv = emergeInstallArgv(phase2Spec(), [
    "sys-boot/grub",
    "sys-boot/grub",
    "net-misc/dhcpcd",
  ]);
  assert.deepEqual(argv, [
    "emerge",
    "--color=n",
    "--nospinner",
    "--quiet-build=y",
    "--noreplace",
    "--getbinpkg",
    "sys-boot/grub",
    "net-misc/dhcpcd",
  ]);
  assert.deepEqual(emergeTargets(["chroot", "/mnt/gentoo", ...argv]), [
    "sys-boot/grub",
    "net-misc/dhcpcd",
  ]);
});

test("sync at most once a day", () => {
  const now = new Date("2026-11-27T12:00:00Z");
  assert.equal(syncDue(undefined, now), true);
  assert.equal(syncDue("garbage", now), true);
  assert.equal(syncDue("2026-11-27T01:00:00.000Z\n", now), false);
  assert.equal(syncDue("2026-11-26T12:00:00.000Z", now), true);
});

test("an overlay's package.use file lands inside the directory", () => {
  assert.equal(
    remapPortagePath("etc/portage/package.use", "file"),
    "etc/portage/package.use/50-overlay",
  );
  assert.equal(remapPortagePath("etc/portage/package.use", "directory"), "etc/portage/package.use");
  assert.equal(
    remapPortagePath("etc/portage/package.use/web", "file"),
    "etc/portage/package.use/web",
  );
  assert.equal(remapPortagePath("etc/portage/make.conf", "file"), "etc/portage/make.conf");
  assert.equal(remapPortagePath("etc/portage/package.bogus", "file"), "etc/portage/package.bogus");
});
