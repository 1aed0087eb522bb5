// Phase 1 on loop devices, no QEMU: the payload installs from the fixture
// mirror (served by the real server/mirror router on loopback: stage3,
// snapshot and the signed binhost) onto a loop disk with an old root and a
// /home full of files. Real Portage emerges what the stage3 lacks and the
// kernel; the checks read what it left in the installed root. Then:
// tampered stage3 and bad signature are refused with the old root untouched.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { requireTool } from "../../lib/tools.ts";
import { binhostUrl } from "../../../server/hosts/resolve.ts";
import {
  blkidUuid,
  makeLoopDisk,
  manifest,
  OLD_ALICE_HASH,
  withMount,
  type LoopDisk,
} from "./loopdisk.ts";
import { REPO, runPayload } from "./run.ts";
import {
  assertKernelAndGrub,
  assertPortageSetup,
  eselectCalls,
  gpkgsServed,
  vdb,
  vdbField,
} from "./installed.ts";
import { startServer, type TestServer } from "./server.ts";

// AUTOMAGIC_FIXTURE_MIRROR: an already built tree (e.g. a hard-linked copy while a rebuild runs).
const FIXTURE = process.env.AUTOMAGIC_FIXTURE_MIRROR ?? join(REPO, "var/fixture-mirror");
const TOKEN = "tok-phase1";
for (const t of [
  "losetup",
  "sgdisk",
  "mkfs.ext4",
  "blkid",
  "wipefs",
  "tar",
  "xz",
  "gpg",
  "chroot",
  "mount",
  "partprobe",
  "partx",
  "unshare",
])
  requireTool(t);

let tmp = "";
let disk: LoopDisk | undefined;
let homeBefore = "";
let fpr = "";

before(() => {
  // Cached by input hash: a no-op when var/fixture-mirror is current.
  if (!process.env.AUTOMAGIC_FIXTURE_MIRROR)
    execFileSync("npx", ["tsx", "test/fixture-mirror/build.ts"], {
      cwd: REPO,
      stdio: "inherit",
      timeout: 3_600_000,
    });
  fpr = readFileSync(join(FIXTURE, "TEST-KEY-FPR"), "utf8").trim();
  tmp = mkdtempSync("/var/tmp/am-pay-");
  disk = makeLoopDisk(tmp);
  homeBefore = withMount(disk.home, manifest, true);
});

after(() => {
  for (const m of readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m) => m && m.startsWith(tmp + "/"))
    .reverse()) {
    spawnSync("umount", ["-l", m!]);
  }
  disk?.detach();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const PROFILE = "default/linux/amd64/23.0";

/** The spec as the server resolves it: stage3 mirror and binhost URL are the server's own. */
function spec(srv: TestServer) {
  return {
    version: 1,
    host: "looptest",
    hostname: "looptest",
    macs: ["52:54:00:00:00:01"],
    firmware: "bios",
    disk: { minBytes: 7 * 2 ** 30, maxBytes: 9 * 2 ** 30 },
    layout: { mode: "keep", root: { partlabel: "root" } },
    home: { ref: { label: "home" }, fs: "ext4" },
    rootfs: "ext4",
    init: "openrc",
    stage3: { variant: "openrc", mirror: srv.mirrorUrl, trustedKeys: [fpr] },
    portage: {
      profile: PROFILE,
      binhost: true,
      binhostUrl: binhostUrl(srv.mirrorUrl, PROFILE),
      // Gentoo accepts "-* @FREE" only: the firmware stays on, its licences said here.
      license: [
        "sys-kernel/linux-firmware linux-fw-redistributable",
        "sys-firmware/intel-microcode intel-ucode",
      ],
    },
    locale: { locales: ["en_US.UTF-8 UTF-8"], lang: "en_US.UTF-8" },
    timezone: "Europe/Berlin",
    keymap: "de",
    network: { mode: "dhcp" },
    users: [
      {
        name: "alice",
        uid: 1000,
        gid: 1000,
        groups: ["users"], // Debian (the fixture) has no wheel; Gentoo has both
        password: "keep",
        authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIALICE alice@x"],
      },
      { name: "bob", uid: 1001, gid: 1001, password: "$6$newsalt$bobbobbob" },
    ],
    keepSshHostKeys: true,
    kernel: { cmdline: "console=ttyS0", linuxFirmware: true, intelMicrocode: true },
    services: {},
    overlay: { present: false },
    postInstall: {},
  };
}

async function install(upstream: string, label: string) {
  const cache = join(tmp, `cache-${label}`);
  const srv = await startServer({
    upstream,
    cacheDir: cache,
    keysDir: join(FIXTURE, "keys"),
    fpr,
    token: TOKEN,
  });
  srv.spec = spec(srv);
  try {
    const r = await runPayload({
      srv,
      token: TOKEN,
      devices: [disk!.dev],
      target: join(tmp, `target-${label}`),
      stateDir: join(tmp, `state-${label}`),
    });
    return { ...r, srv, cache, events: srv.events, phase2Token: srv.phase2Token };
  } finally {
    await srv.close();
  }
}

/** A copy of the fixture mirror (hard links) with one file replaced. */
function tampered(label: string, edit: (dir: string, stage: string) => void): string {
  const dir = join(tmp, `mirror-${label}`);
  cpSync(FIXTURE, dir, {
    recursive: true,
    filter: () => true,
    dereference: false,
    preserveTimestamps: true,
  });
  const auto = join(dir, "releases/amd64/autobuilds");
  const stamp = readdirSync(auto).find((d) => statSync(join(auto, d)).isDirectory())!;
  const stage = readdirSync(join(auto, stamp)).find((f) =>
    /^stage3-amd64-openrc-.*\.tar\.xz$/.test(f),
  )!;
  edit(dir, join(auto, stamp, stage));
  return dir;
}

function oldRootIntact(): void {
  withMount(
    disk!.root,
    (m) => {
      assert.ok(existsSync(join(m, "OLD-ROOT-MARKER")), "old root was touched");
      assert.match(readFileSync(join(m, "etc/shadow"), "utf8"), /alice:\$6\$oldsalt/);
    },
    true,
  );
  assert.equal(withMount(disk!.home, manifest, true), homeBefore, "/home changed");
}

test("a corrupted stage3 is refused before anything is formatted", async () => {
  const up = tampered("corrupt", (_d, stage) => {
    const b = readFileSync(stage);
    b[Math.floor(b.length / 2)]! ^= 0xff;
    rmSync(stage);
    writeFileSync(stage, b);
  });
  const uuid = blkidUuid(disk!.root);
  const r = await install(up, "corrupt");
  assert.notEqual(r.status, 0, r.stdout);
  assert.match(r.stdout + r.stderr, /fetch-verify/);
  assert.ok(
    !r.events.some((e) => e.step === "format-root" && e.kind === "step-start"),
    "format-root started",
  );
  assert.equal(blkidUuid(disk!.root), uuid);
  oldRootIntact();
});

test("a bad signature is refused before anything is formatted", async () => {
  const up = tampered("badsig", (_d, stage) => {
    const asc = `${stage}.asc`;
    const other = execFileSync("gpg", ["--batch", "--dearmor"], { input: readFileSync(asc) });
    other[other.length - 5]! ^= 0x55; // damage the signature packet itself
    rmSync(asc);
    writeFileSync(asc, execFileSync("gpg", ["--batch", "--enarmor"], { input: other }));
  });
  const r = await install(up, "badsig");
  assert.notEqual(r.status, 0, r.stdout);
  assert.ok(
    r.events.some((e) => e.kind === "step-fail" && e.step === "fetch-verify"),
    JSON.stringify(r.events.filter((e) => e.kind === "step-fail")),
  );
  oldRootIntact();
});

test("phase 1 installs onto the loop disk and keeps /home", async () => {
  const homeUuid = blkidUuid(disk!.home);
  const r = await install(FIXTURE, "good");
  assert.equal(r.status, 0, `payload failed:\n${r.stdout.slice(-8000)}\n${r.stderr.slice(-4000)}`);
  assert.equal(r.stdout.split("\n")[0], "AUTOMAGIC-PAYLOAD-START");
  const kinds = r.events.map((e) => `${e.kind}:${e.step ?? ""}`);
  for (const s of [
    "fetch-verify",
    "read-keep-list",
    "format-root",
    "extract-stage3",
    "mount-home",
    "system-packages",
    "accounts",
    "kernel",
    "bootloader",
    "rotate-token",
    "unmount",
  ]) {
    assert.ok(kinds.includes(`step-end:${s}`), `no step-end for ${s}`);
  }
  assert.ok(r.events.some((e) => e.kind === "phase-done"));
  assert.ok(r.events.some((e) => e.kind === "progress" && e.step === "extract-stage3"));
  // Nothing left mounted under the target.
  assert.ok(!readFileSync("/proc/self/mounts", "utf8").includes(join(tmp, "target-good")));
  assert.equal(
    withMount(disk!.home, manifest, true),
    homeBefore,
    "/home's files, modes or owners changed",
  );
  withMount(
    disk!.root,
    (m) => {
      const rd = (p: string) => readFileSync(join(m, p), "utf8");
      assert.ok(!existsSync(join(m, "OLD-ROOT-MARKER")));
      assert.match(rd("etc/fstab"), new RegExp(`^UUID=${homeUuid}\\s+/home\\s+ext4`, "m"));
      assert.match(rd("etc/fstab"), new RegExp(`^UUID=${blkidUuid(disk!.root)}\\s+/\\s+ext4`, "m"));
      assert.match(rd("etc/passwd"), /^alice:x:1000:1000:/m);
      assert.match(rd("etc/passwd"), /^bob:x:1001:1001:/m);
      assert.ok(rd("etc/shadow").includes(`alice:${OLD_ALICE_HASH}:`));
      assert.match(rd("etc/shadow"), /^bob:\$6\$newsalt\$bobbobbob:/m);
      assert.equal(rd("etc/ssh/ssh_host_ed25519_key"), "OLD-PRIVATE-KEY\n");
      assert.equal(statSync(join(m, "etc/ssh/ssh_host_ed25519_key")).mode & 0o777, 0o600);
      assert.match(rd("etc/ssh/authorized_keys/alice"), /ALICE alice@x/);
      assert.match(rd("etc/hostname"), /^looptest$/m);
      assert.match(rd("boot/grub/grub.cfg"), new RegExp(`root=UUID=${blkidUuid(disk!.root)}`));
      assert.ok(existsSync(join(m, "boot/grub/i386-pc")), "grub-install (i386-pc) did not run");
      assert.equal(rd("var/lib/automagic/token").trim(), r.phase2Token);
      assert.equal(statSync(join(m, "var/lib/automagic/token")).mode & 0o777, 0o600);
      assert.ok(existsSync(join(m, "usr/local/sbin/automagic-install")));
      assert.ok(existsSync(join(m, "var/db/repos/gentoo")));
      // Real Portage merged what the stage3 lacks (system-packages) and the
      // kernel, from the signed binhost through the server's mirror.
      const s = spec(r.srv);
      assertPortageSetup(m, {
        mirrorUrl: r.srv.mirrorUrl,
        binhostUrl: s.portage.binhostUrl,
        grubPlatform: "pc",
      });
      assertKernelAndGrub(m, blkidUuid(disk!.root));
      const pkgs = vdb(m);
      // Every merged package is a binary the server's verifying cache holds.
      const served = gpkgsServed(r.cache);
      for (const p of pkgs.keys())
        assert.ok(served.has(p), `${p} came through the server's binhost cache`);
      for (const p of [
        "sys-boot/grub",
        "net-misc/dhcpcd",
        "sys-kernel/linux-firmware",
        "sys-firmware/intel-microcode",
      ])
        assert.ok(pkgs.has(p), `${p} merged (have: ${[...pkgs.keys()].join(", ")})`);
      assert.ok(!pkgs.has("sys-boot/efibootmgr"), "efibootmgr is for UEFI hosts only");
      assert.match(vdbField(m, "sys-boot/grub", "USE"), /\bgrub_platforms_pc\b/);
      assert.match(vdbField(m, "sys-kernel/linux-firmware", "LICENSE"), /linux-fw-redistributable/);
      // Not --oneshot: phase 2's @world update keeps them current.
      for (const p of ["sys-boot/grub", "net-misc/dhcpcd", "sys-kernel/gentoo-kernel-bin"])
        assert.match(rd("var/lib/portage/world"), new RegExp(`^${p}$`, "m"));
      // The NIC by its MAC (no BOOTIF here: the spec's first MAC), OpenRC DHCP by dhcpcd.
      assert.match(
        rd("etc/udev/rules.d/70-automagic-net.rules"),
        /ATTR\{address\}=="52:54:00:00:00:01", NAME="lan0"/,
      );
      assert.ok(
        existsSync(join(m, "etc/init.d/dhcpcd")),
        "dhcpcd's OpenRC service (from the package)",
      );
      assert.equal(readlinkSync(join(m, "etc/runlevels/default/dhcpcd")), "/etc/init.d/dhcpcd");
      assert.equal(readlinkSync(join(m, "etc/runlevels/default/sshd")), "/etc/init.d/sshd");
      const eselect = eselectCalls(m).map((c) => c.join(" "));
      assert.ok(eselect.includes(`profile set ${PROFILE}`), eselect.join("; "));
      assert.ok(eselect.includes("locale set en_US.UTF-8"), eselect.join("; "));
    },
    true,
  );
});
