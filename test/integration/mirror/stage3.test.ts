// The fixture stage3 itself, extracted the way the installer extracts it:
// it carries only what a Gentoo stage3 carries, and real Portage in it
// merges signed binary packages from the fixture binhost through the
// server's mirror, refusing masked atoms and tampered packages as Gentoo
// would. Chroots get proc/dev for Portage; the only network is 127.0.0.1.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { readFile, readdir, readlink, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { AUTOBUILDS } from "../../../shared/verify/layout.ts";
import { demandOf } from "../../../server/mirror/gate.ts";
import {
  cleanup,
  cloneFixture,
  countingUpstream,
  pinnedToFixture,
  startMirror,
  tempDir,
  serveFixture,
  type ServedFixture,
} from "./helpers.ts";

let served: ServedFixture;
let work: string;
let root: string;
const BINHOST = "releases/amd64/binpackages/23.0/x86-64";

before(async () => {
  served = await serveFixture("stage3-mirror");
  const fx = served.fx;
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

after(async () => {
  await cleanup(work);
  await served.close();
});

/** Runs bash in `r` with proc, dev and devpts mounted (Portage needs them), unmounting after. */
async function inRoot(r: string, cmd: string) {
  const mounts: string[] = [];
  try {
    for (const [args, at] of [
      [["-t", "proc", "proc"], "proc"],
      [["--bind", "/dev"], "dev"],
      [["-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts"], "dev/pts"],
    ] as const) {
      await mkdir(join(r, at), { recursive: true });
      await execa("mount", [...args, join(r, at)]);
      mounts.unshift(join(r, at));
    }
    return await execa("chroot", [r, "/bin/bash", "-c", cmd], {
      reject: false,
      all: true,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C.UTF-8" },
      extendEnv: false,
    });
  } finally {
    for (const m of mounts) await execa("umount", ["-l", m], { reject: false });
  }
}
const inChroot = (cmd: string) => inRoot(root, cmd);

/** Points the root's Portage at a binhost URL, as the installer's binrepos.conf does. */
async function useBinhost(r: string, url: string): Promise<void> {
  await writeFile(
    join(r, "etc/portage/binrepos.conf/gentoo.conf"),
    `[gentoo]\npriority = 9999\nsync-uri = ${url}\nverify-signature = true\nlocation = /var/cache/binhost/gentoo\n`,
  );
  await writeFile(
    join(r, "etc/portage/make.conf"),
    `FEATURES="\${FEATURES} getbinpkg binpkg-request-signature"\nGENTOO_MIRRORS="${served.mirror.url}"\n`,
    { flag: "a" },
  );
}

test("the stage3 holds no kernel, boot loader, efibootmgr, DHCP client, sudo, fs tools or firmware", async () => {
  const list = (
    await execa("tar", ["tJf", join(served.fx.dir, served.fx.openrcRel)], {
      maxBuffer: 256 * 1024 * 1024,
    })
  ).stdout
    .split("\n")
    .map((l) => l.replace(/^\.\//, ""));
  const absent: Array<[string, RegExp]> = [
    ["kernel", /^boot\/vmlinuz|^usr\/lib\/modules\/\d|^lib\/modules\/\d/],
    ["initramfs", /^boot\/(initrd|initramfs)/],
    ["GRUB", /(^|\/)grub-(install|mkconfig)$|^usr\/lib\/grub\//],
    ["efibootmgr", /bin\/efibootmgr$/],
    ["DHCP client", /bin\/(dhcpcd|dhclient|udhcpc)$|^etc\/init\.d\/dhcpcd$/],
    ["sudo", /bin\/sudo$/],
    ["xfsprogs", /sbin\/mkfs\.xfs$/],
    ["btrfs-progs", /sbin\/mkfs\.btrfs$|bin\/btrfs$/],
    ["dracut", /bin\/dracut$/],
    ["linux-firmware", /^usr\/lib\/firmware\/./],
    ["systemd (an OpenRC stage3)", /^usr\/lib\/systemd\/systemd$|^usr\/bin\/systemctl$/],
    [
      "the old emerge/getuto/env-update stand-ins",
      /^usr\/lib\/automagic-standins\/(emerge|getuto|env-update)/,
    ],
  ];
  for (const [what, re] of absent) {
    const hit = list.filter((f) => re.test(f));
    assert.deepEqual(hit, [], `${what} is not in a Gentoo stage3`);
  }
  for (const f of [
    "usr/lib/portage/bin/emerge",
    "usr/bin/emerge",
    "usr/bin/getuto",
    "usr/sbin/env-update",
  ])
    assert.ok(list.includes(f), `${f} (real Portage, getuto)`);
  // The Portage commands are Gentoo's own, not stand-ins.
  assert.equal(await readlink(join(root, "usr/bin/emerge")), "../lib/portage/bin/emerge");
  // Run from its source tree without git metadata, Portage calls itself HEAD.
  const v = await inChroot("emerge --version");
  assert.match(v.all ?? "", /^Portage HEAD \(python 3\.\d+/m, v.all);
});

test("Gentoo's places: make.conf, portage dirs, release key, services, no baked-in identity", async () => {
  for (const f of [
    "etc/portage/make.conf",
    "etc/portage/package.use",
    "var/db/repos",
    "usr/share/openpgp-keys/gentoo-release.asc",
    "etc/init.d/sshd",
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
    "useradd --help >/dev/null && locale-gen --help >/dev/null; rc-update --version",
  );
  assert.equal(r.exitCode, 0, r.all);
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

test("real emerge: signed binary packages through the server's mirror, GRUB for the platform asked", async () => {
  await useBinhost(root, `${served.mirror.url}${BINHOST}/`);
  const g = await inChroot("getuto && test -s /etc/portage/gnupg/trustdb.gpg");
  assert.equal(g.exitCode, 0, g.all);
  // As the installer does for a BIOS host: the platform goes into make.conf.
  await writeFile(join(root, "etc/portage/make.conf"), 'GRUB_PLATFORMS="pc"\n', { flag: "a" });
  const r = await inChroot(
    "emerge --getbinpkg --noreplace sys-boot/grub net-misc/dhcpcd sys-fs/btrfs-progs",
  );
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.all ?? "", />>> Emerging binary \(\d of 3\) sys-boot\/grub-[\w.-]+::gentoo/);
  assert.ok(existsSync(join(root, "usr/lib/grub/i386-pc")), "GRUB_PLATFORMS=pc installs i386-pc");
  assert.ok(!existsSync(join(root, "usr/lib/grub/x86_64-efi")), "and not x86_64-efi");
  assert.ok(existsSync(join(root, "etc/init.d/dhcpcd")), "dhcpcd brings its OpenRC script");
  const add = await inChroot(
    "rc-update add dhcpcd default && rc-update add sshd default && rc-update show default",
  );
  assert.equal(add.exitCode, 0, add.all);
  assert.match(add.stdout, /dhcpcd \|/);
  assert.doesNotMatch(add.stdout, /\bssh \|/, "Debian's own ssh service is not enabled");
  assert.ok(existsSync(join(root, "usr/bin/btrfs-convert")), "btrfs-progs built with USE=convert");
  const again = await inChroot("emerge --getbinpkg --noreplace sys-boot/grub");
  assert.equal(again.exitCode, 0, again.all);
  assert.doesNotMatch(again.all ?? "", />>> Emerging/, "--noreplace merges nothing twice");
});

test("a changed USE flag rebuilds on emerge --update --deep --newuse @world", async () => {
  await writeFile(join(root, "etc/portage/package.use/btrfs"), "sys-fs/btrfs-progs -convert\n");
  const r = await inChroot("emerge --getbinpkg --update --deep --newuse @world");
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.all ?? "", /sys-fs\/btrfs-progs/);
  assert.ok(
    !existsSync(join(root, "usr/bin/btrfs-convert")),
    "btrfs-convert is gone with USE=-convert",
  );
});

test("keyword and license masks fail with emerge's own reason; accepting them lets the package in", async () => {
  const kw = await inChroot("emerge --getbinpkg app-editors/neovim");
  assert.notEqual(kw.exitCode, 0);
  assert.match(kw.all ?? "", /masked by: ~amd64 keyword/, kw.all);
  const lic = await inChroot("emerge --getbinpkg sys-kernel/linux-firmware");
  assert.notEqual(lic.exitCode, 0);
  assert.match(lic.all ?? "", /masked by: linux-fw-redistributable license/, lic.all);
  await writeFile(
    join(root, "etc/portage/package.accept_keywords/neovim"),
    "app-editors/neovim ~amd64\n",
  );
  await writeFile(
    join(root, "etc/portage/package.license/linux-firmware"),
    "sys-kernel/linux-firmware linux-fw-redistributable\n",
  );
  const ok = await inChroot("emerge --getbinpkg app-editors/neovim sys-kernel/linux-firmware");
  assert.equal(ok.exitCode, 0, ok.all);
  assert.ok(existsSync(join(root, "usr/bin/nvim")));
});

test("a tampered binary package is refused before anything of it is merged, naming it", async () => {
  // A binhost that an attacker controls: the gpkg's image is replaced, the
  // gpkg's own Manifest and the index's SIZE/MD5/SHA1 are updated to match
  // it, and the member order is kept, so only the OpenPGP signature (which
  // the attacker cannot make) can tell.
  const bad = await cloneFixture(served.fx, join(work, "tampered"));
  const dir = join(bad, BINHOST, "app-admin/sudo");
  const gpkg = join(dir, (await readdir(dir)).find((f) => f.endsWith(".gpkg.tar")) ?? "");
  const members = (await execa("tar", ["tf", gpkg])).stdout.split("\n").filter(Boolean);
  const x = join(work, "gpkg-x");
  await mkdir(x, { recursive: true });
  await execa("tar", ["xf", gpkg, "-C", x]);
  const top = members[0]?.split("/")[0] ?? "";
  const img = join(x, top, "image.tar.zst");
  const evil = join(work, "evil");
  await mkdir(join(evil, "image/usr/bin"), { recursive: true });
  await writeFile(join(evil, "image/usr/bin/sudo"), "#!/bin/sh\necho owned\n", { mode: 0o755 });
  await execa("bash", ["-c", `tar -C "$1" -cf - image | zstd -q -c > "$2"`, "x", evil, img]);
  const newImg = await readFile(img);
  const digest = (a: string, b: Buffer) => createHash(a).update(b).digest("hex");
  const manifest = join(x, top, "Manifest");
  await writeFile(
    manifest,
    (await readFile(manifest, "utf8")).replace(
      /^DATA image\.tar\.zst .*$/m,
      `DATA image.tar.zst ${newImg.length} SHA512 ${digest("sha512", newImg)} BLAKE2B ${digest("blake2b512", newImg)}`,
    ),
  );
  await rm(gpkg);
  await execa("tar", [
    "--format=ustar",
    "--numeric-owner",
    "--owner=0",
    "--group=0",
    "-C",
    x,
    "-cf",
    gpkg,
    ...members,
  ]);
  const bytes = await readFile(gpkg);
  const hash = (a: string) => createHash(a).update(bytes).digest("hex");
  const idx = join(bad, BINHOST, "Packages");
  const text = await readFile(idx, "utf8");
  const blocks = text.split("\n\n").map((b) =>
    /^CPV: app-admin\/sudo-/m.test(b)
      ? b
          .replace(/^SIZE: \d+$/m, `SIZE: ${bytes.length}`)
          .replace(/^MD5: \w+$/m, `MD5: ${hash("md5")}`)
          .replace(/^SHA1: \w+$/m, `SHA1: ${hash("sha1")}`)
      : b,
  );
  await rm(idx);
  await writeFile(idx, blocks.join("\n\n"));
  await rm(join(bad, BINHOST, "Packages.gz"), { force: true });
  const mirror = await startMirror(pinnedToFixture(served.fx, bad, join(work, "tampered-cache")));
  const r2 = join(work, "root2");
  try {
    await mkdir(r2);
    await execa("tar", [
      "xpf",
      join(served.fx.dir, served.fx.openrcRel),
      "--numeric-owner",
      "-C",
      r2,
    ]);
    await execa("cp", ["-a", join(root, "var/db/repos/gentoo"), join(r2, "var/db/repos/")]);
    await execa("cp", ["-a", join(root, "etc/portage/make.profile"), join(r2, "etc/portage/")]);
    await useBinhost(r2, `${mirror.url}${BINHOST}/`);
    const r = await inRoot(r2, "getuto && emerge --getbinpkg app-admin/sudo");
    assert.notEqual(r.exitCode, 0, r.all);
    assert.match(r.all ?? "", /app-admin\/sudo/, "the failure names the package");
    assert.match(r.all ?? "", /GnuPG verification failed|signature verification failed/i, r.all);
    assert.ok(!existsSync(join(r2, "usr/bin/sudo")), "nothing of it was merged");
    assert.deepEqual(
      existsSync(join(r2, "var/db/pkg/app-admin"))
        ? await readdir(join(r2, "var/db/pkg/app-admin"))
        : [],
      [],
    );
  } finally {
    await mirror.close();
  }
});

test("the systemd variant has sshd.service and a serial getty", async () => {
  const pointer = await readFile(
    join(served.fx.dir, AUTOBUILDS, "latest-stage3-amd64-systemd.txt"),
    "utf8",
  );
  const rel = /^(\S+\.tar\.xz) \d+$/m.exec(pointer)?.[1];
  assert.ok(rel);
  const list = (
    await execa("bash", [
      "-c",
      `tar tJf "$1" | grep -E 'sshd.service|serial-getty@ttyS0|init.d/sshd|bin/emerge$'`,
      "x",
      join(served.fx.dir, AUTOBUILDS, rel),
    ])
  ).stdout;
  assert.match(list, /usr\/lib\/systemd\/system\/sshd\.service/);
  assert.match(list, /getty\.target\.wants\/serial-getty@ttyS0\.service/);
  assert.match(list, /usr\/bin\/emerge/);
  assert.doesNotMatch(list, /init\.d\/sshd/);
  await rm(join(work, "unused"), { force: true });
});

test("emerge --sync is emerge-webrsync through the server: the day's snapshot fetched once, checked, synced", async () => {
  // Upstream: the fixture with the dated snapshot a Gentoo mirror publishes
  // daily (same bytes and signature as gentoo-latest), one with a wrong
  // .md5sum, and one a month old.
  const fx = served.fx;
  const up = await cloneFixture(fx, join(work, "webrsync-up"));
  const latest = join(up, "snapshots/gentoo-latest.tar.xz");
  const stamp = Number(
    (await execa("tar", ["-xJOf", latest, "--wildcards", "*/metadata/timestamp.x"])).stdout.split(
      " ",
    )[0],
  );
  const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10).replace(/-/g, "");
  const date = day(stamp);
  const md5 = createHash("md5")
    .update(await readFile(latest))
    .digest("hex");
  const dated = async (d: string, sum: string) => {
    const name = `gentoo-${d}.tar.xz`;
    await execa("ln", [latest, join(up, "snapshots", name)]);
    await execa("cp", [`${latest}.gpgsig`, join(up, "snapshots", `${name}.gpgsig`)]);
    await writeFile(join(up, "snapshots", `${name}.md5sum`), `${sum}  ${name}\n`);
  };
  await dated(date, md5);
  const yesterday = day(stamp - 86400);
  await dated(yesterday, "0".repeat(32));
  await dated(day(stamp - 40 * 86400), md5);
  const upstream = await countingUpstream(up);
  const gate = { demand: () => demandOf([]), authorize: () => false };
  const mirror = await startMirror(
    pinnedToFixture(fx, upstream.url, join(work, "webrsync-cache")),
    {
      gate,
    },
  );
  try {
    const get = (rel: string) => fetch(`${mirror.url}snapshots/${rel}`);
    // A wrong .md5sum: refused, nothing cached.
    const bad = await get(`gentoo-${yesterday}.tar.xz.md5sum`);
    assert.equal(bad.status, 502, await bad.text());
    // Older than two weeks and no run token: not fetched at all.
    const old = await get(`gentoo-${day(stamp - 40 * 86400)}.tar.xz`);
    assert.equal(old.status, 404);
    assert.match(await old.text(), /not within the last 14 days/);
    assert.equal(
      upstream.hits.get(`snapshots/gentoo-${day(stamp - 40 * 86400)}.tar.xz`),
      undefined,
    );

    // The real emerge-webrsync, as `emerge --sync` runs it with the payload's
    // repos.conf. The fixture's Portage has no gemato, so its own signature
    // check is off here (the server checked the signature before caching;
    // docs/INSTALLER.md lists this).
    await writeFile(join(root, "etc/portage/make.conf"), `GENTOO_MIRRORS="${mirror.url}"\n`, {
      flag: "a",
    });
    const r = await inChroot(`emerge-webrsync --no-pgp-verify --revert=${date}`);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.all ?? "", new RegExp(`gentoo-${date}\\.tar\\.xz`), r.all);
    assert.ok(existsSync(join(root, "var/db/repos/gentoo/metadata/timestamp.x")));
    const again = await inChroot(`emerge-webrsync --no-pgp-verify --revert=${date}`);
    assert.equal(again.exitCode, 0, again.all);
    assert.equal(
      upstream.hits.get(`snapshots/gentoo-${date}.tar.xz`),
      1,
      "fetched from upstream once",
    );
  } finally {
    await mirror.close();
    await upstream.close();
  }
});
