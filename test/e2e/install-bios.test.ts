// Power on, walk away: a BIOS QEMU machine netboots from automagic, installs
// Gentoo (the fixture mirror) onto its system disk, reboots into it, finishes
// phase 2, and keeps every byte, owner and mode of its /home disk. Beside it,
// an unknown MAC and a known-but-unarmed host netboot and end at `local` with
// their disks untouched.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { startVm, makeRawDisk } from "../lib/qemu.ts";
import {
  makeBiosSystemDisk,
  makeHomeDisk,
  sha256File,
  type HomeDisk,
  type OldRoot,
} from "./lib/disks.ts";
import { openInstallBed, type InstallBed } from "./lib/install-bed.ts";
import { sshTo, waitForSsh } from "./lib/ssh.ts";
import {
  assertCommonSystem,
  assertHomeIntact,
  bootMachine,
  installMachine,
  type Machine,
} from "./lib/install-flow.ts";
import type { SysImage } from "../../server/sysimgs/store.ts";

const MAC = "52:54:00:a0:00:01";
const HOST = "qemu-bios";
const MIN = 60_000;
const CLONE = "qemu-clone";

/** qemu-bios's host file made into another machine's: MAC, disk, a fresh GPT, no overlay. */
function cloneHostFile(text: string): string {
  const out = text
    .replace('macs: ["52:54:00:a0:00:01"]', 'macs: ["52:54:00:a0:00:03"]')
    .replace("  serial: AM-SYS-BIOS", "  serial: AM-SYS-CLONE")
    .replace(
      "layout:\n  mode: keep\n  root: { partlabel: gentoo-root }",
      "layout:\n  mode: create\n  wipe: { serial: AM-SYS-CLONE }\n  swapSize: 0\nkeepSshHostKeys: false",
    )
    .replace(/^overlay:\n(?:[ #].*\n)*/m, "");
  assert.ok(
    out.includes("AM-SYS-CLONE") && out.includes("mode: create") && !out.includes("overlay:"),
    out,
  );
  return out;
}

describe("BIOS install end to end", { timeout: 85 * MIN }, () => {
  let b: InstallBed;
  let home: HomeDisk;
  let cloneHome: HomeDisk;
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

  const bootVm = (
    name: string,
    mac: string,
    disks: Array<{ file: string; serial: string }>,
    tap: string,
    memMiB = 512,
  ) => {
    const vm = startVm(
      { name, firmware: "bios", mac, memMiB, disks, tap, netbootFirst: true, workDir: b.work },
      b.accel,
      { netns: b.bed.ns },
    );
    b.vms.push(vm);
    return vm;
  };

  before(async () => {
    b = await openInstallBed({
      name: "am-e2e",
      ns: "am-e2e",
      taps: ["tap0", "tap1", "tap2"],
      prepare: async (work) => {
        oldRoot = await makeBiosSystemDisk(join(work, "bios-sys.img"), work);
        home = await makeHomeDisk(join(work, "bios-home.img"), work);
        // The machine qemu-bios's capture is deployed onto: blank disk, own /home.
        await makeRawDisk(join(work, "clone-sys.img"), 8 * 1024 * 1024 * 1024);
        await mkdir(join(work, "clone"));
        cloneHome = await makeHomeDisk(join(work, "clone-home.img"), join(work, "clone"), 300);
        await writeFile(
          join(work, "hosts", `${CLONE}.yaml`),
          cloneHostFile(await readFile(join(work, "hosts", `${HOST}.yaml`), "utf8")),
        );
      },
    });
  });

  after(() => b?.close());

  test("an unknown MAC and an unarmed host netboot to `local`; their disks are untouched", async () => {
    const unknownDisk = join(b.work, "unknown.img");
    const unarmedDisk = join(b.work, "unarmed.img");
    await makeRawDisk(unknownDisk, 64 * 1024 * 1024);
    await makeRawDisk(unarmedDisk, 64 * 1024 * 1024);
    await execa("sgdisk", ["-Z", "-n", "1:2048:0", "-c", "1:data", unarmedDisk]);
    const sums = [await sha256File(unknownDisk), await sha256File(unarmedDisk)];
    const unknown = bootVm(
      "unknown",
      "52:54:00:ee:ee:01",
      [{ file: unknownDisk, serial: "AM-UNKNOWN" }],
      "tap1",
    );
    // qemu-uefi is a known host that nobody armed.
    const unarmed = bootVm(
      "unarmed",
      "52:54:00:a0:00:02",
      [{ file: unarmedDisk, serial: "AM-SYS-UEFI" }],
      "tap2",
    );
    // The script says `exit`: iPXE hands back to SeaBIOS, which moves on to the disk.
    const handedBack = /No more network devices[\s\S]*(Booting from Hard Disk|No bootable device)/;
    await Promise.all([unknown.waitFor(handedBack, 3 * MIN), unarmed.waitFor(handedBack, 3 * MIN)]);
    await unknown.kill();
    await unarmed.kill();
    assert.deepEqual([await sha256File(unknownDisk), await sha256File(unarmedDisk)], sums);

    const unknownTrace = await b.server.json<{
      trace: Array<{ what: string; detail?: { decision?: string } }>;
    }>(["trace", "52:54:00:ee:ee:01"]);
    const served = unknownTrace.trace.filter((r) => r.what === "boot.ipxe served");
    assert.ok(served.length > 0, "the unknown MAC's boot.ipxe request is traced");
    assert.ok(
      served.every((r) => r.detail?.decision === "local"),
      JSON.stringify(served),
    );
    const discovered = await b.server.json<Array<{ mac: string }>>(["hosts", "discovered"]);
    assert.ok(
      discovered.some((d) => d.mac === "52:54:00:ee:ee:01"),
      "the unknown MAC is listed as discovered",
    );
    const unarmedStatus = await b.server.json<{ state: string }>(["status", "qemu-uefi"]);
    assert.equal(unarmedStatus.state, "local");
  });

  test("arm rescue -> netboot -> sshd with root's key from the host file; run done; disk untouched", async () => {
    // qemu-uefi's host file (its firmware does not matter to rescue) on a BIOS VM.
    const disk = join(b.work, "rescue.img");
    await makeRawDisk(disk, 64 * 1024 * 1024);
    await execa("sgdisk", ["-Z", "-n", "1:2048:0", "-c", "1:data", disk]);
    const before = await sha256File(disk);
    await b.server.cli(["next", "qemu-uefi", "rescue"]);
    const vm = bootVm(
      "rescue",
      "52:54:00:a0:00:02",
      [{ file: disk, serial: "AM-SYS-UEFI" }],
      "tap2",
      1024, // the RAM system (the unarmed machines only ever reach iPXE)
    );
    const up = await vm.waitFor(/rescue system up: ssh root@(\S+) \(root's keys (\S+)\)/, 6 * MIN);
    const [, ip, keys] = /rescue system up: ssh root@(\S+) \(root's keys (\S+)\)/.exec(up)!;
    assert.equal(keys, "installed", up.slice(-2000));
    // The console line comes as the event is sent: give the server a moment.
    let status = { state: "" } as { state: string; run?: { status: string } };
    for (let i = 0; i < 30 && status.state !== "local"; i++) {
      if (i) await new Promise((r) => setTimeout(r, 1000));
      status = await b.server.json(["status", "qemu-uefi"]);
    }
    assert.deepEqual([status.state, status.run?.status], ["local", "done"]);
    await waitForSsh(b.bed, ip!, b.keyFile, 2 * MIN);
    const seen = await sshTo(b.bed, ip!, b.keyFile, "cat /run/automagic/rescue-keys.done");
    assert.equal(seen.trim(), "ok", "logged in with the key from the host file");
    await vm.kill();
    assert.equal(await sha256File(disk), before, "rescue touched no disk");
  });

  test(
    "arm install -> netboot -> phase 1 -> reboot -> phase 2 -> done, /home intact",
    { timeout: 75 * MIN },
    async () => {
      const m = machine();
      const { vm, ip, ssh, t0 } = await installMachine(b, m);
      await assertCommonSystem(ssh, m);
      // OpenRC host with the `keep` layout: root paved, users and host key as the spec says.
      assert.match(await ssh("id bob"), /uid=1001\(bob\) gid=1001\(bob\)/);
      assert.match(await ssh("rc-update show default"), /sshd/);
      assert.match(await ssh("cat /etc/motd"), /.+/);
      assert.match(await ssh("stat -c %a /etc/sudoers.d/wheel"), /^440/);
      assert.equal(
        (await ssh("test -e /OLD-ROOT-MARKER && echo old || echo paved")).trim(),
        "paved",
      );
      const scan = await b.bed.exec("ssh-keyscan", ["-t", "ed25519", ip]);
      const fp = await execa("ssh-keygen", ["-l", "-f", "-"], { input: String(scan.stdout) });
      assert.equal(
        fp.stdout.split(/\s+/)[1],
        oldRoot.hostKeyFingerprint,
        "the old SSH host key was kept",
      );
      await assertHomeIntact(b, ssh, vm, m);
      process.stderr.write(
        `[e2e] whole BIOS flow: ${((Date.now() - t0) / 1000).toFixed(0)} s under ${b.accel.name}\n`,
      );
    },
  );
  test(
    "arm capture -> netboot -> the installed root archived on the server; disks untouched; back to local",
    { timeout: 20 * MIN },
    async () => {
      const m = machine();
      const sums = [await sha256File(sysDisk()), await sha256File(home.file)];
      await b.server.cli(["next", HOST, "capture"]);
      const vm = bootMachine(b, m, `${HOST}-capture`);
      // A stored capture reboots; QEMU runs with -no-reboot, so it exits. A
      // failed one stays up with sshd: stop waiting as soon as the run fails.
      let exited = false;
      vm.exited.then(() => (exited = true)).catch(() => undefined);
      type Status = { state: string; run?: { status: string; failure?: string } };
      let status: Status = await b.server.json<Status>(["status", HOST]);
      for (let waited = 0; !exited && waited < 10 * MIN; waited += 3000) {
        if (status.state.startsWith("failed")) break;
        await new Promise((r) => setTimeout(r, 3000));
        status = await b.server.json<Status>(["status", HOST]);
      }
      assert.ok(exited, `capture did not finish: ${JSON.stringify(status)}`);
      status = await b.server.json<Status>(["status", HOST]);
      assert.deepEqual([status.state, status.run?.status], ["local", "done"]);
      const images = await b.server.json<SysImage[]>(["sysimgs"]);
      assert.equal(images.length, 1, JSON.stringify(images));
      const img = images[0]!;
      assert.equal(img.host, HOST);
      assert.equal(img.source.fstype, "ext4");
      const file = join(b.work, "state", "sysimgs", `${img.name}.tar.zst`);
      assert.equal(await sha256File(file), img.sha256, "stored bytes are what was committed");
      const listed = await execa("sh", [
        "-c",
        `zstd -dc '${file}' | tar --numeric-owner -tvf - ./etc/sudoers.d/wheel ./etc/hostname`,
      ]);
      assert.match(listed.stdout, /^-r--r----- 0\/0 .* \.\/etc\/sudoers\.d\/wheel$/m);
      const hostname = await execa("sh", ["-c", `zstd -dc '${file}' | tar -xOf - ./etc/hostname`]);
      assert.equal(hostname.stdout.trim(), HOST);
      assert.deepEqual(
        [await sha256File(sysDisk()), await sha256File(home.file)],
        sums,
        "capture wrote to no disk",
      );
      process.stderr.write(`[e2e] capture: ${img.name}, ${(img.bytes / 2 ** 20).toFixed(1)} MiB\n`);
    },
  );
  test(
    "arm deploy:<that capture> on a second machine -> installed from the image, its own identity, its own /home intact",
    { timeout: 60 * MIN },
    async () => {
      const [img] = await b.server.json<SysImage[]>(["sysimgs"]);
      assert.ok(img, "the capture test left an image");
      const file = join(b.work, "state", "sysimgs", `${img.name}.tar.zst`);
      const fromImage = async (path: string) =>
        (await execa("sh", ["-c", `zstd -dc '${file}' | tar -xOf - '.${path}'`])).stdout.trim();
      const clone: Machine = {
        host: CLONE,
        mac: "52:54:00:a0:00:03",
        firmware: "bios",
        tap: "tap1",
        disks: [
          { file: join(b.work, "clone-sys.img"), serial: "AM-SYS-CLONE" },
          { file: cloneHome.file, serial: "AM-HOME-CLONE" },
        ],
        home: cloneHome,
      };
      const { vm, ip, ssh, timeline } = await installMachine(b, clone, `deploy:${img.name}`);
      const steps = timeline.events.map((e) => e.event.step).filter(Boolean);
      assert.ok(
        steps.includes("fetch-sysimg") && steps.includes("extract-sysimg"),
        steps.join(" "),
      );
      assert.ok(!steps.includes("fetch-verify"), "no stage3 was fetched");
      await assertCommonSystem(ssh, clone);
      // From the image: what qemu-bios's overlay put there.
      assert.match(await ssh("stat -c %a /etc/sudoers.d/wheel"), /^440/);
      assert.match(await ssh("id bob"), /uid=1001\(bob\) gid=1001\(bob\)/);
      // Its own identity: machine-id and SSH host key are not the image's.
      assert.notEqual(
        (await ssh("cat /etc/machine-id")).trim(),
        await fromImage("/etc/machine-id"),
      );
      const scan = await b.bed.exec("ssh-keyscan", ["-t", "ed25519", ip]);
      const imageKey = await fromImage("/etc/ssh/ssh_host_ed25519_key.pub");
      assert.ok(!String(scan.stdout).includes(imageKey.split(" ")[1]!), "a fresh SSH host key");
      await assertHomeIntact(b, ssh, vm, clone);
    },
  );
});
