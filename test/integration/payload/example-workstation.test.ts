// hosts/example-workstation.yaml, the annotated example people copy, installs
// on loop devices: the real host file goes through the server's loader and
// resolver (server/hosts) into the spec the payload fetches with its token;
// phase 1 runs the real payload against a loop disk laid out as the file
// says (keep layout by partlabels, btrfs root, xfs /home by UUID, swap);
// phase 2 runs through chroot against the installed root. Every package
// comes from the fixture binhost through the server's verifying mirror and
// is merged by real Portage: keywords, licences, login shells and services
// are checked in what Portage and OpenRC left on disk.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { requireTool } from "../../lib/tools.ts";
import { loadHostRegistry, resolveInstallSpec } from "../../../server/hosts/index.ts";
import type { InstallSpec } from "../../../payload/spec/schema.ts";
import { SYNC_STAMP } from "../../../payload/phase2/index.ts";
import { blkidUuid, manifest, withMount } from "./loopdisk.ts";
import { makeWorkstationDisk, OLD_CAROL_HASH, type WorkstationDisk } from "./workstation-disk.ts";
import { REPO, runPayload, runPhase2InChroot } from "./run.ts";
import {
  assertKernelAndGrub,
  assertPortageSetup,
  eselectCalls,
  readIn,
  vdb,
  vdbField,
} from "./installed.ts";
import { startServer, type TestServer } from "./server.ts";

const FIXTURE = process.env.AUTOMAGIC_FIXTURE_MIRROR ?? join(REPO, "var/fixture-mirror");
const HOST = "example-workstation";
const TOKEN = "tok-ws1-phase1";
/** Sparse: the host file's disk selector asks for 900GB..1.2TB. */
const DISK_BYTES = 1_000_000_000_000;
for (const t of [
  "losetup",
  "sgdisk",
  "mkfs.btrfs",
  "mkfs.xfs",
  "mkfs.vfat",
  "mkswap",
  "blkid",
  "wipefs",
  "chroot",
  "mount",
  "partx",
  "unshare",
])
  requireTool(t);

let tmp = "";
let fpr = "";
let srv: TestServer | undefined;
let disk: WorkstationDisk | undefined;
let spec: InstallSpec;
let homeBefore = "";

/** The host file as a server with this folder would resolve it into a spec. */
async function resolveFrom(text: string, dir: string): Promise<InstallSpec> {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(REPO, "hosts/defaults.yaml"), join(dir, "defaults.yaml"));
  writeFileSync(join(dir, `${HOST}.yaml`), text);
  const host = (await loadHostRegistry(dir)).byName(HOST);
  assert.ok(host, `${dir}: no ${HOST}`);
  return resolveInstallSpec(host, { mirrorUrl: srv!.mirrorUrl, trustedKeys: [fpr] });
}

/**
 * The exact file with only what this test machine physically lacks changed:
 * - firmware: bios — it boots BIOS: no /sys/firmware/efi, no efivarfs in its
 *   kernel, no NVRAM for efibootmgr; the plan refuses uefi here (first test).
 *   The UEFI path (ESP, efi-64 GRUB, efibootmgr and BootOrder) is installed
 *   for real by test/e2e-uefi under OVMF.
 * - disk: byId dropped — a loop device has no /dev/disk/by-id link (no
 *   serial); the file's minSize/maxSize stay and select the 1 TB loop disk.
 * MACs and the /home UUID stay as written: the spec arrives by token, and
 * /home is made with the file's UUID.
 */
function onThisMachine(text: string): string {
  const doc = YAML.parseDocument(text);
  doc.set("firmware", "bios");
  doc.deleteIn(["disk", "byId"]);
  return doc.toString();
}

before(async () => {
  if (!process.env.AUTOMAGIC_FIXTURE_MIRROR)
    execFileSync("npx", ["tsx", "test/fixture-mirror/build.ts"], {
      cwd: REPO,
      stdio: "inherit",
      timeout: 3_600_000,
    });
  fpr = readFileSync(join(FIXTURE, "TEST-KEY-FPR"), "utf8").trim();
  tmp = mkdtempSync("/var/tmp/am-ws-");
  srv = await startServer({
    upstream: FIXTURE,
    cacheDir: join(tmp, "cache"),
    keysDir: join(FIXTURE, "keys"),
    fpr,
    token: TOKEN,
  });
  const text = readFileSync(join(REPO, "hosts", `${HOST}.yaml`), "utf8");
  spec = await resolveFrom(onThisMachine(text), join(tmp, "hosts"));
  const raw = YAML.parse(text) as { home: { ref: { uuid: string } } };
  assert.ok(DISK_BYTES >= spec.disk.minBytes! && DISK_BYTES <= spec.disk.maxBytes!);
  disk = makeWorkstationDisk(tmp, {
    sizeBytes: DISK_BYTES,
    homeUuid: raw.home.ref.uuid,
    owners: spec.users.map((u) => ({ name: u.name, uid: u.uid, gid: u.gid })),
  });
  homeBefore = withMount(disk.home, manifest, true);
});

after(async () => {
  for (const m of readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m) => m && m.startsWith(tmp + "/"))
    .reverse()) {
    spawnSync("umount", ["-l", m!]);
  }
  disk?.detach();
  await srv?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("the file as written (firmware: uefi) is refused on this BIOS machine, nothing touched", async () => {
  const text = readFileSync(join(REPO, "hosts", `${HOST}.yaml`), "utf8");
  srv!.spec = await resolveFrom(text, join(tmp, "hosts-exact"));
  const rootUuid = blkidUuid(disk!.root);
  const r = await runPayload({
    srv: srv!,
    token: TOKEN,
    devices: [disk!.dev],
    target: join(tmp, "target-exact"),
    stateDir: join(tmp, "state-exact"),
    dryRun: true,
  });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /firmware.*uefi.*bios mode/);
  assert.equal(blkidUuid(disk!.root), rootUuid);
});

test("phase 1 installs example-workstation on the loop disk and keeps /home", async () => {
  srv!.spec = spec;
  const r = await runPayload({
    srv: srv!,
    token: TOKEN,
    devices: [disk!.dev],
    target: join(tmp, "target"),
    stateDir: join(tmp, "state"),
  });
  // netifrc comes with sys-apps/openrc[+netifrc] in every Gentoo openrc stage3.
  const noNetifrc = /service `net\.enp5s0' does not exist/.test(r.stdout)
    ? "\nThe stage3 has no netifrc (/etc/init.d/net.lo), which a Gentoo openrc stage3 carries: the fixture's must too.\n"
    : "";
  assert.equal(
    r.status,
    0,
    `payload failed:\n${r.stdout.slice(-10000)}\n${r.stderr.slice(-4000)}${noNetifrc}`,
  );
  const ends = srv!.events.filter((e) => e.kind === "step-end").map((e) => e.step);
  for (const s of ["read-keep-list", "format-root", "system-packages", "kernel", "bootloader"])
    assert.ok(ends.includes(s), `no step-end for ${s}`);
  assert.equal(withMount(disk!.home, manifest, true), homeBefore, "/home changed");
  const uuid = (dev: string) => blkidUuid(dev);
  assert.equal(
    execFileSync("blkid", ["-p", "-o", "value", "-s", "TYPE", disk!.root], {
      encoding: "utf8",
    }).trim(),
    "btrfs",
  );
  withMount(
    disk!.root,
    (m) => {
      const rd = (p: string) => readIn(m, p);
      assert.ok(!existsSync(join(m, "OLD-ROOT-MARKER")));
      const fstab = rd("etc/fstab");
      assert.match(fstab, new RegExp(`^UUID=${uuid(disk!.root)}\\s+/\\s+btrfs`, "m"));
      assert.match(
        fstab,
        new RegExp(`^UUID=${uuid(disk!.home)}\\s+/home\\s+xfs\\s+defaults,noatime`, "m"),
      );
      assert.match(fstab, new RegExp(`^UUID=${uuid(disk!.swap)}\\s+none\\s+swap`, "m"));
      assert.match(rd("etc/hostname"), /^ws1\.lab\.example\.org$/m);
      assert.match(rd("etc/conf.d/keymaps"), /^keymap="de"$/m);
      assert.equal(readlinkSync(join(m, "etc/localtime")), "../usr/share/zoneinfo/Europe/Berlin");
      assert.match(rd("etc/locale.gen"), /^de_DE\.UTF-8 UTF-8$/m);

      // Accounts: carol's old hash kept, dave locked, carol on bash until zsh is merged.
      assert.ok(rd("etc/shadow").includes(`carol:${OLD_CAROL_HASH}:`));
      assert.match(rd("etc/shadow"), /^dave:!:/m);
      assert.match(rd("etc/passwd"), /^carol:x:1000:1000:[^:]*:\/home\/carol:\/bin\/bash$/m);
      for (const g of ["wheel", "video", "audio"])
        assert.match(rd("etc/group"), new RegExp(`^${g}:[^:]*:\\d+:(.*,)?carol(,|$)`, "m"));
      assert.equal(rd("etc/ssh/ssh_host_ed25519_key"), "OLD-WS-PRIVATE-KEY\n");
      assert.match(rd("etc/ssh/authorized_keys/carol"), /carol@laptop/);

      // Portage: the server's mirror and binhost, the file's make.conf and lists.
      assertPortageSetup(m, {
        mirrorUrl: srv!.mirrorUrl,
        binhostUrl: spec.portage.binhostUrl!,
        grubPlatform: "pc",
      });
      const makeConf = rd("etc/portage/make.conf");
      assert.match(makeConf, /^COMMON_FLAGS="-O2 -pipe -march=native"$/m);
      assert.match(makeConf, /^MAKEOPTS="-j8"$/m);
      assert.equal(
        readlinkSync(join(m, "etc/portage/make.profile")),
        "../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0/desktop",
      );
      assert.ok(
        eselectCalls(m).some((c) => c.join(" ") === "profile set default/linux/amd64/23.0/desktop"),
      );
      assert.match(
        rd("etc/portage/package.license/automagic"),
        /^sys-kernel\/linux-firmware linux-fw-redistributable\nsys-firmware\/intel-microcode intel-ucode$/m,
      );

      // What the stage3 lacks, merged by real Portage: GRUB, both filesystems'
      // tools (fstab fscks / and /home), the firmware whose licences the file accepts.
      assertKernelAndGrub(m, uuid(disk!.root));
      const pkgs = vdb(m);
      for (const p of [
        "sys-boot/grub",
        "sys-fs/btrfs-progs",
        "sys-fs/xfsprogs",
        "sys-kernel/linux-firmware",
        "sys-firmware/intel-microcode",
      ])
        assert.ok(pkgs.has(p), `${p} merged (have: ${[...pkgs.keys()].join(", ")})`);
      assert.ok(!pkgs.has("net-misc/dhcpcd"), "a static address needs no DHCP client");
      assert.match(vdbField(m, "sys-kernel/linux-firmware", "LICENSE"), /linux-fw-redistributable/);
      assert.match(vdbField(m, "sys-firmware/intel-microcode", "LICENSE"), /intel-ucode/);
      // package.use "sys-fs/btrfs-progs -convert": the binary built without it.
      assert.doesNotMatch(vdbField(m, "sys-fs/btrfs-progs", "USE"), /\bconvert\b/);
      assert.ok(!existsSync(join(m, "usr/bin/btrfs-convert")), "btrfs-convert installed");
      assert.ok(
        existsSync(join(m, "usr/bin/mkfs.btrfs")) || existsSync(join(m, "usr/sbin/mkfs.btrfs")),
      );

      // The NIC by its MAC (no BOOTIF here: the file's first MAC), named as the file says.
      assert.match(
        rd("etc/udev/rules.d/70-automagic-net.rules"),
        /ATTR\{address\}=="aa:bb:cc:00:11:22", NAME="enp5s0"/,
      );
      assert.match(rd("etc/conf.d/net"), /^config_enp5s0="192\.0\.2\.10\/24"$/m);
      assert.match(rd("etc/conf.d/net"), /^routes_enp5s0="default via 192\.0\.2\.1"$/m);
      assert.equal(readlinkSync(join(m, "etc/init.d/net.enp5s0")), "net.lo");
      assert.equal(
        readlinkSync(join(m, "etc/runlevels/default/net.enp5s0")),
        "/etc/init.d/net.enp5s0",
      );
      assert.equal(readlinkSync(join(m, "etc/runlevels/default/sshd")), "/etc/init.d/sshd");
      assert.ok(existsSync(join(m, "boot/grub/i386-pc")), "grub-install --target=i386-pc ran");
      assert.equal(rd("var/lib/automagic/token").trim(), srv!.phase2Token);
      assert.equal(rd("var/lib/automagic/server").trim(), srv!.url);
    },
    true,
  );
});

test("phase 2 through chroot: neovim (~amd64), sudo, zsh as carol's shell, chronyd and sshd", async () => {
  assert.ok(
    srv!.events.some((e) => e.kind === "phase-done"),
    "phase 1 passed",
  );
  // The file asks for `emerge --sync` (repos.conf: emerge-webrsync through the
  // server); the fixture has no dated snapshots and no gemato (INSTALLER.md),
  // so the stamp says the tree synced just now (phase 1 extracted today's
  // snapshot) and the sync step skips.
  withMount(disk!.root, (m) => {
    writeFileSync(join(m, SYNC_STAMP), `${new Date().toISOString()}\n`);
  });
  const before = srv!.events.length;
  const r = await runPhase2InChroot({
    srv: srv!,
    root: disk!.root,
    home: disk!.home,
    homeOptions: spec.home.options ?? "defaults",
    dir: join(tmp, "phase2-root"),
  });
  const p2 = srv!.events.slice(before);
  assert.equal(
    r.status,
    0,
    `phase 2 failed:\n${JSON.stringify(
      p2.filter((e) => e.kind === "step-fail"),
      null,
      1,
    )}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`,
  );
  const done = p2.find((e) => e.kind === "run-done");
  assert.ok(done, "run-done reached the server under the phase-2 token");
  const summary = done.summary as { sync: string; packages: { installed: string[] } };
  assert.equal(summary.sync, "skipped-recent");
  // -uDN @world plus the file's packages: exactly those four are new; what
  // phase 1 merged (same USE, same binaries) is left alone.
  assert.deepEqual(summary.packages.installed.map((cpv) => cpv.replace(/-\d[^/]*$/, "")).sort(), [
    "app-admin/sudo",
    "app-editors/neovim",
    "app-shells/zsh",
    "net-misc/chrony",
  ]);
  assert.equal(withMount(disk!.home, manifest, true), homeBefore, "/home changed in phase 2");
  withMount(
    disk!.root,
    (m) => {
      const rd = (p: string) => readIn(m, p);
      // ~amd64 only: merged because the file accepts the keyword.
      assert.match(vdbField(m, "app-editors/neovim", "KEYWORDS"), /(^|\s)~amd64(\s|$)/);
      assert.match(
        rd("etc/portage/package.accept_keywords/zz-automagic"),
        /^app-editors\/neovim ~amd64$/m,
      );
      for (const p of ["app-admin/sudo", "app-shells/zsh", "net-misc/chrony", "app-editors/neovim"])
        assert.match(rd("var/lib/portage/world"), new RegExp(`^${p}$`, "m"));
      // carol's login shell, set by phase 2 once zsh is in (and listed in /etc/shells by zsh).
      assert.match(rd("etc/passwd"), /^carol:x:1000:1000:[^:]*:\/home\/carol:\/bin\/zsh$/m);
      assert.match(rd("etc/shells"), /^\/bin\/zsh$/m);
      assert.ok(statSync(join(m, "usr/bin/zsh")).mode & 0o111, "zsh is executable");
      assert.match(rd("etc/passwd"), /^dave:x:1001:1001:[^:]*:[^:]*:\/bin\/bash$/m);
      // Services: chronyd's OpenRC script came with net-misc/chrony; both in default.
      assert.ok(existsSync(join(m, "etc/init.d/chronyd")), "chronyd's service from the package");
      assert.equal(readlinkSync(join(m, "etc/runlevels/default/chronyd")), "/etc/init.d/chronyd");
      assert.equal(readlinkSync(join(m, "etc/runlevels/default/sshd")), "/etc/init.d/sshd");
    },
    true,
  );
});
