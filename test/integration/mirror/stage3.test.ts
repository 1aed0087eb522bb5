// The fixture stage3 itself: extracted the way the installer extracts it,
// then its Gentoo-isms, bridges and recording stand-ins are exercised in a
// chroot (no network, no devices: the stand-ins only touch files).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, readlink, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { AUTOBUILDS } from "../../../payload/verify/layout.ts";
import { cleanup, ensureFixture, tempDir, type Fixture } from "./helpers.ts";

let fx: Fixture;
let work: string;
let root: string;

before(async () => {
  fx = await ensureFixture();
  work = await tempDir("stage3");
  root = join(work, "root");
  await mkdir(root);
  await execa("tar", [
    "xpf",
    join(fx.dir, fx.openrcRel),
    "--xattrs-include=*.*",
    "--numeric-owner",
    "-C",
    root,
  ]);
  // The snapshot goes where the installer puts it: /var/db/repos/gentoo.
  await execa("tar", [
    "xpf",
    join(fx.dir, "snapshots/gentoo-latest.tar.xz"),
    "-C",
    join(root, "var/db/repos"),
  ]);
  const top = (await execa("ls", [join(root, "var/db/repos")])).stdout
    .split("\n")
    .find((d) => d.startsWith("gentoo-"));
  assert.ok(top, "snapshot has one gentoo-YYYYMMDD/ top directory");
  await execa("mv", [join(root, "var/db/repos", top), join(root, "var/db/repos/gentoo")]);
});

after(() => cleanup(work));

const inChroot = (cmd: string) =>
  execa("chroot", [root, "/bin/bash", "-c", cmd], {
    reject: false,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  });

async function standinLog(): Promise<Array<{ tool: string; argv: string[]; exit: number }>> {
  const p = join(root, "var/log/automagic-standins.jsonl");
  if (!existsSync(p)) return [];
  return (await readFile(p, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { tool: string; argv: string[]; exit: number });
}

test("stage3 carries a kernel + initramfs, BIOS and EFI grub, and Gentoo's portage places", async () => {
  const boot = (await execa("ls", [join(root, "boot")])).stdout;
  assert.match(boot, /vmlinuz-/);
  assert.match(boot, /initrd\.img-/);
  for (const d of ["usr/lib/grub/i386-pc", "usr/lib/grub/x86_64-efi"])
    assert.ok(existsSync(join(root, d)), d);
  for (const f of [
    "etc/portage/make.conf",
    "etc/portage/package.use",
    "var/db/repos",
    "usr/share/openpgp-keys/gentoo-release.asc",
    "etc/init.d/sshd",
    "etc/init.d/dhcpcd",
  ]) {
    assert.ok(existsSync(join(root, f)), f);
  }
  assert.match(
    await readFile(join(root, "etc/portage/make.conf"), "utf8"),
    /^COMMON_FLAGS="-O2 -pipe"$/m,
  );
  assert.match(
    await readFile(join(root, "etc/inittab"), "utf8"),
    /^T0:2345:respawn:\/sbin\/agetty -L 115200 ttyS0 vt100$/m,
  );
  assert.deepEqual(
    (await execa("ls", [join(root, "etc/ssh")])).stdout
      .split("\n")
      .filter((f) => f.startsWith("ssh_host_")),
    [],
    "no baked-in host keys",
  );
  assert.equal(await readFile(join(root, "etc/machine-id"), "utf8"), "");
  const r = await inChroot(
    "grub-install --version && grub-mkconfig --version && useradd --help >/dev/null && locale-gen --help >/dev/null; rc-update --version",
  );
  assert.equal(r.exitCode, 0, r.stderr);
});

test("eselect: profile must exist in the extracted repository; locale names are checked", async () => {
  assert.equal((await inChroot("eselect profile set default/linux/amd64/23.0")).exitCode, 0);
  assert.equal(
    await readlink(join(root, "etc/portage/make.profile")),
    "../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0",
  );
  assert.equal((await inChroot("eselect profile set default/linux/amd64/17.1")).exitCode, 1);
  const early = await inChroot("eselect locale set en_US.UTF-8");
  assert.equal(early.exitCode, 0, "real eselect only warns about a locale not generated yet");
  assert.match(early.stderr, /doesn't appear to be valid/);
  assert.equal((await inChroot("eselect locale set 'en US'")).exitCode, 1);
  assert.equal((await inChroot("eselect locale set 99")).exitCode, 1);
  const gen = await inChroot("echo 'en_US.UTF-8 UTF-8' > /etc/locale.gen && locale-gen");
  assert.equal(gen.exitCode, 0, gen.stderr);
  assert.equal((await inChroot("eselect locale set en_US.UTF-8")).exitCode, 0);
  assert.match(await readFile(join(root, "etc/env.d/02locale"), "utf8"), /^LANG="en_US.UTF-8"$/m);
  assert.equal(
    (await inChroot('env-update && . /etc/profile && test "$LANG" = en_US.UTF-8')).exitCode,
    0,
  );
});

test("emerge: accepted forms print emerge-shaped progress; refused forms fail; everything is recorded", async () => {
  const ok = await inChroot(
    "emerge --getbinpkg --noreplace --jobs=2 sys-kernel/gentoo-kernel-bin sys-boot/grub",
  );
  assert.equal(ok.exitCode, 0, ok.stderr);
  assert.match(
    ok.stdout,
    /^>>> Emerging binary \(1 of 2\) sys-kernel\/gentoo-kernel-bin-[\d.]+::gentoo$/m,
  );
  assert.match(ok.stdout, /^>>> Installing \(2 of 2\) sys-boot\/grub-[\w.-]+::gentoo$/m);
  assert.match(ok.stdout, /^>>> Jobs: 2 of 2 complete$/m);
  const again = await inChroot("emerge --getbinpkg --noreplace sys-boot/grub");
  assert.match(again.stdout, /Nothing to merge/);
  for (const bad of [
    "emerge =sys-boot/grub",
    "emerge --ask app-editors/vim",
    "emerge --frobnicate sys-boot/grub",
    "emerge @nosuchset",
    "emerge vim",
    "emerge",
    "emerge --config",
    "emerge --with-bdeps sys-apps/portage",
    "emerge --ask sys-apps/portage",
  ]) {
    assert.equal((await inChroot(bad)).exitCode, 1, bad);
  }
  for (const good of [
    "emerge --jobs 4 --load-average 3.5 --keep-going y --with-bdeps n sys-apps/portage",
    "emerge --ask n --oneshot sys-apps/portage",
    "emerge --sync",
    "emerge --config sys-libs/timezone-data",
    "emerge -vuDN @world",
    "getuto",
    "env-update",
  ]) {
    const r = await inChroot(good);
    assert.equal(r.exitCode, 0, `${good}: ${r.stderr}`);
  }
  assert.equal((await inChroot("getuto --frob")).exitCode, 1);
  const log = await standinLog();
  const first = log.find((e) => e.tool === "emerge");
  assert.deepEqual(first, {
    ...first,
    argv: [
      "--getbinpkg",
      "--noreplace",
      "--jobs=2",
      "sys-kernel/gentoo-kernel-bin",
      "sys-boot/grub",
    ],
    exit: 0,
  });
  assert.ok(log.some((e) => e.tool === "emerge" && e.argv[0] === "--ask" && e.exit === 1));
  assert.ok(log.some((e) => e.tool === "getuto" && e.exit === 0));
  assert.ok(
    log.some(
      (e) =>
        e.tool === "eselect" &&
        e.argv.join(" ") === "profile set default/linux/amd64/23.0" &&
        e.exit === 0,
    ),
  );
});

test("the openrc bridges: sshd and dhcpcd services can be added with rc-update", async () => {
  const r = await inChroot(
    "rc-update add sshd default && rc-update add dhcpcd default && rc-update show default",
  );
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /sshd \|/);
  assert.match(r.stdout, /dhcpcd \|/);
  assert.doesNotMatch(r.stdout, /\bssh \|/, "Debian's own ssh service is not enabled");
});

test("the systemd variant has sshd.service and a serial getty", async () => {
  const pointer = await readFile(
    join(fx.dir, AUTOBUILDS, "latest-stage3-amd64-systemd.txt"),
    "utf8",
  );
  const rel = /^(\S+\.tar\.xz) \d+$/m.exec(pointer)?.[1];
  assert.ok(rel);
  const list = (
    await execa("bash", [
      "-c",
      `tar tJf "$1" | grep -E 'sshd.service|serial-getty@ttyS0|init.d/sshd|bin/emerge$'`,
      "x",
      join(fx.dir, AUTOBUILDS, rel),
    ])
  ).stdout;
  assert.match(list, /usr\/lib\/systemd\/system\/sshd\.service/);
  assert.match(list, /getty\.target\.wants\/serial-getty@ttyS0\.service/);
  assert.match(list, /usr\/bin\/emerge/);
  assert.doesNotMatch(list, /init\.d\/sshd/);
  await rm(join(work, "unused"), { force: true });
});
