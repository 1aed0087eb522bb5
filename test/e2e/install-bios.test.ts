// Power on, walk away: a BIOS QEMU machine netboots from automagic, installs
// Gentoo (the fixture mirror) onto its system disk, reboots into it, finishes
// phase 2, is captured as a system image to its own /home and the server in
// the same run, and keeps every other byte, owner and mode of its /home disk.
// Then its system is broken, the server's copy deleted, and deploy:latest
// restores it from the image on its /home. Beside it, an unknown MAC and a
// known-but-unarmed host netboot and end at `local` with their disks untouched.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import {
  makeBiosSystemDisk,
  makeHomeDisk,
  sha256File,
  type HomeDisk,
  type OldRoot,
} from "./lib/disks.ts";
import { openInstallBed, type InstallBed } from "./lib/install-bed.ts";
import {
  assertCommonSystem,
  assertHomeIntact,
  assertHomeUnchanged,
  assertInstalledFiles,
  installAndCapture,
  installMachine,
  type Machine,
  type Ssh,
} from "./lib/install-flow.ts";
import type { HostImages } from "../../server/app/format.ts";
import { ROOT_FS_LABEL } from "../../payload/plan/groups/disk.ts";
import { withMountedImage } from "../lib/home-disk.ts";

const MAC = "52:54:00:a0:00:01";
const HOST = "qemu-bios";
const MIN = 60_000;
/** The capture's files on /home: the only change to /home a capture may make. */
const SYSIMGS_ON_HOME = /^(added|changed): \/?data(\/sysimgs(\/[^:]*)?)?(:|$)/;

/** qemu-bios's host file, captured right after the install to its /home and the server. */
function withCapture(text: string): string {
  assert.ok(!/^postInstall:|^sysimgs:/m.test(text), text);
  return `${text}\npostInstall:\n  capture: { to: [home, server] }\nsysimgs: { keep: 2 }\n`;
}

/** qemu-bios's own choices (beyond what every host shows): bob, the motd and sudoers overlay, the paved root. */
async function assertInstallChoices(run: Ssh): Promise<void> {
  assert.match(await run("id bob"), /uid=1001\(bob\) gid=1001\(bob\)/);
  assert.match(await run("cat /etc/motd"), /.+/);
  assert.match(await run("stat -c %a /etc/sudoers.d/wheel"), /^440/);
  assert.equal((await run("test -e /OLD-ROOT-MARKER && echo old || echo paved")).trim(), "paved");
}

/** Runs `fn` on the system disk's root filesystem (found by its label), mounted read-write. */
async function withRootOf<T>(disk: string, dir: string, fn: (root: string) => Promise<T>) {
  const loop = (await execa("losetup", ["-P", "-f", "--show", disk])).stdout.trim();
  try {
    // Kernels without GPT parsing ignore -P: partx adds the partitions from userspace.
    await execa("partx", ["--add", loop], { reject: false });
    const parts = (await execa("lsblk", ["-lnp", "-o", "PATH", loop])).stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((p) => p && p !== loop);
    let dev: string | undefined;
    for (const p of parts) {
      const label = await execa("blkid", ["-p", "-o", "value", "-s", "LABEL", p], {
        reject: false,
      });
      if (String(label.stdout).trim() === ROOT_FS_LABEL) dev = p;
    }
    assert.ok(dev, `no partition labelled ${ROOT_FS_LABEL} on ${disk}: ${parts.join(", ")}`);
    await mkdir(dir, { recursive: true });
    await execa("mount", [dev, dir]);
    try {
      return await fn(dir);
    } finally {
      await execa("umount", [dir]);
    }
  } finally {
    await execa("losetup", ["-d", loop]);
  }
}

describe("BIOS install end to end", { timeout: 85 * MIN }, () => {
  let b: InstallBed;
  let home: HomeDisk;
  let oldRoot: OldRoot;
  const sysDisk = () => join(b.work, "bios-sys.img");
  const machine = (): Machine => ({
    host: HOST,
    mac: MAC,
    firmware: "bios",
    tap: "tap0",
    disks: [
      { file: sysDisk(), serial: "AM-SYS-BIOS" },
      { file: home.file, serial: "AM-HOME-BIOS" },
    ],
    home,
  });

  before(async () => {
    b = await openInstallBed({
      name: "am-e2e",
      ns: "am-e2e",
      taps: ["tap0"],
      prepare: async (work) => {
        oldRoot = await makeBiosSystemDisk(join(work, "bios-sys.img"), work);
        // Room for two images of the installed root beside the users' files.
        home = await makeHomeDisk(join(work, "bios-home.img"), work, 1500, 1536);
        const file = join(work, "hosts", `${HOST}.yaml`);
        await writeFile(file, withCapture(await readFile(file, "utf8")));
      },
    });
  });

  after(() => b?.close());

  test(
    "arm install -> netboot -> phase 1 -> reboot -> phase 2 -> capture to /home and the server, one run done; the rest of /home intact",
    { timeout: 100 * MIN },
    async () => {
      const m = machine();
      const { t0, timeline } = await installAndCapture(b, m);
      // Off, on its disk: the OpenRC host with the `keep` layout has its root
      // paved, users, services and files as the spec says, the old host key.
      await withRootOf(sysDisk(), join(b.work, "root-mnt"), async (root) => {
        const inRoot: Ssh = async (cmd) =>
          (await execa("chroot", [root, "/bin/sh", "-c", cmd])).stdout;
        await assertInstalledFiles(inRoot, m);
        await assertInstallChoices(inRoot);
        assert.match(await inRoot("ls /etc/runlevels/default"), /^sshd$/m);
        const fp = await execa("ssh-keygen", [
          "-l",
          "-f",
          join(root, "etc/ssh/ssh_host_ed25519_key.pub"),
        ]);
        assert.equal(
          fp.stdout.split(/\s+/)[1],
          oldRoot.hostKeyFingerprint,
          "the old SSH host key was kept",
        );
      });
      // One run: install, phase 2 and the capture (phase 3); nobody armed anything else.
      const runIds = new Set(timeline.events.map((e) => e.runId));
      assert.equal(runIds.size, 1, `one run: ${[...runIds].join(", ")}`);
      assert.ok(
        timeline.events.some((e) => e.event.phase === 3 && e.event.kind === "run-done"),
        "the capture ended the run",
      );
      const both = await b.server.json<HostImages>(["sysimgs", HOST]);
      assert.equal(both.server.length, 1, JSON.stringify(both));
      const img = both.server[0]!;
      assert.deepEqual(
        both.home?.images.map((i) => [i.name, i.sha256]),
        [[img.name, img.sha256]],
        "the machine reported the same image on its /home",
      );
      const file = join(b.work, "state", "sysimgs", `${img.name}.tar.zst`);
      assert.equal(await sha256File(file), img.sha256, "the server's bytes are what was committed");
      const hostname = await execa("sh", ["-c", `zstd -dc '${file}' | tar -xOf - ./etc/hostname`]);
      assert.equal(hostname.stdout.trim(), HOST);
      const after = await assertHomeUnchanged(b, m, SYSIMGS_ON_HOME);
      // On the /home disk itself: the archive and its record, the same sha256.
      const onHome = await withMountedImage(
        home.file,
        join(b.work, "home-check"),
        async (d) => ({
          sha: await sha256File(join(d, "data/sysimgs", `${img.name}.tar.zst`)),
          meta: JSON.parse(await readFile(join(d, "data/sysimgs", `${img.name}.json`), "utf8")) as {
            sha256: string;
            host: string;
            installSpecSha256?: string;
          },
        }),
        { offset: home.offset },
      );
      assert.equal(onHome.sha, img.sha256, "the /home copy is byte-identical to the server's");
      assert.equal(onHome.meta.sha256, img.sha256);
      assert.equal(onHome.meta.host, HOST);
      assert.match(onHome.meta.installSpecSha256 ?? "", /^[0-9a-f]{64}$/);
      home.before = after;
      process.stderr.write(
        `[e2e] install + phase 2 + capture: ${((Date.now() - t0) / 1000).toFixed(0)} s under ${b.accel.name}; image ${img.name}, ${(img.bytes / 2 ** 20).toFixed(1)} MiB\n`,
      );
    },
  );
  test(
    "break the system, delete the server's copy, arm deploy:latest -> restored from the image on its own /home, /home intact",
    { timeout: 60 * MIN },
    async () => {
      const m = machine();
      const [img] = (await b.server.json<HostImages>(["sysimgs", HOST])).server;
      assert.ok(img, "the install test left an image");
      await withRootOf(sysDisk(), join(b.work, "root-mnt"), async (root) => {
        await execa("rm", ["-f", join(root, "sbin/init")]);
      });
      for (const ext of ["json", "tar.zst"])
        await execa("rm", [join(b.work, "state", "sysimgs", `${img.name}.${ext}`)]);
      assert.deepEqual((await b.server.json<HostImages>(["sysimgs", HOST])).server, []);
      const { vm, ip, ssh, timeline } = await installMachine(b, m, "deploy:latest");
      const steps = timeline.events.map((e) => e.event.step).filter(Boolean);
      assert.ok(
        steps.includes("fetch-sysimg") && steps.includes("extract-sysimg"),
        steps.join(" "),
      );
      assert.ok(!steps.includes("fetch-verify"), "no stage3 was fetched");
      const fromHome = new RegExp(
        `system image ${img.name} on /dev/\\S+: \\d+ bytes, sha256 ${img.sha256} ok`,
      );
      assert.ok(
        timeline.events.some((e) => fromHome.test(e.event.message ?? "")),
        "the image came from /home, its sha256 checked",
      );
      assert.ok(
        !timeline.events.some((e) => e.event.phase === 3),
        "a deploy is not captured again",
      );
      await assertCommonSystem(ssh, m);
      assert.match(await ssh("test -x /sbin/init && echo restored"), /restored/);
      // The install's system, booted: what the image holds is what the install made.
      await assertInstallChoices(ssh);
      assert.match(await ssh("rc-update show default"), /sshd/);
      const scan = await b.bed.exec("ssh-keyscan", ["-t", "ed25519", ip]);
      const fp = await execa("ssh-keygen", ["-l", "-f", "-"], { input: String(scan.stdout) });
      assert.equal(fp.stdout.split(/\s+/)[1], oldRoot.hostKeyFingerprint, "the host key survived");
      await assertHomeIntact(b, ssh, vm, m);
    },
  );
});
