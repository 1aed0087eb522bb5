// Power on, walk away: a BIOS QEMU machine netboots from automagic, installs
// Gentoo (the fixture mirror) onto its system disk, reboots into it, finishes
// phase 2, and keeps every byte, owner and mode of its /home disk. Beside it,
// an unknown MAC and a known-but-unarmed host netboot and end at `local` with
// their disks untouched.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { createTestbed, type Testbed } from "../lib/testbed.ts";
import { probeAccel, startVm, makeRawDisk, type RunningVm } from "../lib/qemu.ts";
import { diffManifests, manifest, withMountedImage } from "../lib/home-disk.ts";
import { ensureArtifacts, type Artifacts } from "./lib/artifacts.ts";
import { prepareHosts, startBedServer, type BedServer } from "./lib/server.ts";
import {
  makeBiosSystemDisk,
  makeHomeDisk,
  sha256File,
  type HomeDisk,
  type OldRoot,
} from "./lib/disks.ts";
import { fetchTimeline, findTrace, renderTimeline } from "./lib/timeline.ts";
import { sshTo, waitForSsh } from "./lib/ssh.ts";

const MAC = "52:54:00:a0:00:01";
const HOST = "qemu-bios";
const accel = probeAccel();
const MIN = 60_000;

describe("BIOS install end to end", { timeout: 30 * MIN }, () => {
  let art: Artifacts;
  let bed: Testbed;
  let server: BedServer;
  let work: string;
  let keyFile: string;
  let home: HomeDisk;
  let oldRoot: OldRoot;
  const sysDisk = () => join(work, "bios-sys.img");
  const vms: RunningVm[] = [];

  const bootVm = (
    name: string,
    mac: string,
    disks: Array<{ file: string; serial: string }>,
    tap: string,
  ) => {
    const vm = startVm(
      { name, firmware: "bios", mac, memMiB: 3072, disks, tap, netbootFirst: true, workDir: work },
      accel,
      { netns: bed.ns },
    );
    vms.push(vm);
    return vm;
  };

  before(async () => {
    process.stderr.write(`[e2e] accelerator: ${accel.name} (${accel.why})\n`);
    art = await ensureArtifacts();
    work = await mkdtemp("/tmp/am-e2e-");
    keyFile = join(work, "id_ed25519");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", keyFile]);
    const hostsDir = await prepareHosts(work, await readFile(`${keyFile}.pub`, "utf8"));
    oldRoot = await makeBiosSystemDisk(sysDisk(), work);
    home = await makeHomeDisk(join(work, "bios-home.img"), work);
    bed = await createTestbed("am-e2e");
    for (const t of ["tap0", "tap1", "tap2"]) await bed.addTap(t);
    server = await startBedServer(bed, art, { workDir: work, hostsDir });
  });

  after(async () => {
    for (const vm of vms) await vm.kill();
    await server?.stop().catch(() => undefined);
    await bed?.close();
    process.stderr.write(`[e2e] work dir kept for inspection: ${work}\n`);
  });

  test("an unknown MAC and an unarmed host netboot to `local`; their disks are untouched", async () => {
    const unknownDisk = join(work, "unknown.img");
    const unarmedDisk = join(work, "unarmed.img");
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

    const unknownTrace = await server.json<{
      trace: Array<{ what: string; detail?: { decision?: string } }>;
    }>(["trace", "52:54:00:ee:ee:01"]);
    const served = unknownTrace.trace.filter((r) => r.what === "boot.ipxe served");
    assert.ok(served.length > 0, "the unknown MAC's boot.ipxe request is traced");
    assert.ok(
      served.every((r) => r.detail?.decision === "local"),
      JSON.stringify(served),
    );
    const discovered = await server.json<Array<{ mac: string }>>(["hosts", "discovered"]);
    assert.ok(
      discovered.some((d) => d.mac === "52:54:00:ee:ee:01"),
      "the unknown MAC is listed as discovered",
    );
    const unarmedStatus = await server.json<{ state: string }>(["status", "qemu-uefi"]);
    assert.equal(unarmedStatus.state, "local");
  });

  test(
    "arm install -> netboot -> phase 1 -> reboot -> phase 2 -> done, /home intact",
    { timeout: 25 * MIN },
    async () => {
      await server.cli(["next", HOST, "install"]);
      const t0 = Date.now();
      const disks = [
        { file: sysDisk(), serial: "AM-SYS-BIOS" },
        { file: home.file, serial: "AM-HOME-BIOS" },
      ];
      // Phase 1 ends with a reboot; -no-reboot turns it into QEMU exiting.
      const first = bootVm("bios-install", MAC, disks, "tap0");
      await first.waitFor(/AUTOMAGIC-PAYLOAD-START/, 5 * MIN);
      const code = await Promise.race([
        first.exited,
        new Promise<never>((_, rej) =>
          setTimeout(() => rej(new Error("phase 1 did not reboot within 15 min")), 15 * MIN),
        ),
      ]);
      process.stderr.write(
        `[e2e] phase 1 ended (QEMU exit ${code}) after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
      );
      const afterPhase1 = await server.json<{
        state: string;
        run?: { status: string; phase: number; failure?: string };
      }>(["status", HOST]);
      assert.ok(
        !afterPhase1.state.startsWith("failed"),
        `phase 1 failed: ${JSON.stringify(afterPhase1)}`,
      );

      // Power on again: the server must send it to its disk (run is past phase 1).
      const second = bootVm("bios-firstboot", MAC, disks, "tap0");
      let status = afterPhase1;
      const deadline = Date.now() + 10 * MIN;
      while (Date.now() < deadline) {
        status = await server.json(["status", HOST]);
        if (status.state === "local" && status.run?.status === "done") break;
        if (status.state.startsWith("failed")) break;
        await new Promise((r) => setTimeout(r, 3000));
      }
      assert.equal(status.run?.status, "done", `run not done: ${JSON.stringify(status)}`);
      assert.equal(status.state, "local");

      const tl = await fetchTimeline(server, HOST);
      process.stderr.write(`\n[e2e] timeline (${HOST}):\n${renderTimeline(tl)}\n\n`);
      // The chain, in order, as the server recorded it.
      let at = findTrace(tl, "dhcp", /offer|ack/);
      assert.ok(at >= 0, "DHCP offer traced");
      at = findTrace(tl, "http", /boot\.ipxe served/, at);
      assert.ok(
        at >= 0 && tl.trace[at]!.detail?.decision === "install",
        "boot.ipxe served the install action",
      );
      assert.ok(
        findTrace(tl, "http", /vmlinuz fetched/, at) > at,
        "kernel fetched after the script",
      );
      assert.ok(
        findTrace(tl, "http", /initrd\.img fetched/, at) > at,
        "initrd fetched after the script",
      );
      const phase2Start = tl.events.findIndex((e) => e.event.phase === 2);
      assert.ok(phase2Start > 0, "phase 2 reported events");
      const localAfter = tl.trace.findIndex(
        (r, i) => i > at && r.what === "boot.ipxe served" && r.detail?.decision === "local",
      );
      assert.ok(localAfter > at, "the power-on after phase 1 got `local`, not the installer again");
      assert.ok(tl.events.some((e) => e.event.kind === "run-done"));

      // Log in with the host's key and look at the installed system.
      const leaseIp = await vmAddress(server, MAC);
      await waitForSsh(bed, leaseIp, keyFile, 3 * MIN);
      const ssh = (cmd: string) => sshTo(bed, leaseIp, keyFile, cmd);
      assert.equal((await ssh("hostname")).trim(), "qemu-bios");
      assert.match(await ssh("id alice"), /uid=1000\(alice\) gid=1000\(alice\)/);
      assert.match(await ssh("id bob"), /uid=1001\(bob\) gid=1001\(bob\)/);
      assert.match(
        await ssh("grep -E '\\s/home\\s' /etc/fstab"),
        new RegExp(`UUID=${home.uuid}\\s+/home\\s+ext4`),
      );
      assert.match(await ssh("findmnt -n -o SOURCE,FSTYPE /home"), /ext4/);
      assert.match(await ssh("cat /etc/motd"), /.+/);
      assert.match(await ssh("stat -c %a /etc/sudoers.d/wheel"), /^440/);
      assert.equal(
        (await ssh("test -e /OLD-ROOT-MARKER && echo old || echo paved")).trim(),
        "paved",
      );
      const scan = await bed.exec("ssh-keyscan", ["-t", "ed25519", leaseIp]);
      const fp = await execa("ssh-keygen", ["-l", "-f", "-"], { input: String(scan.stdout) });
      assert.equal(
        fp.stdout.split(/\s+/)[1],
        oldRoot.hostKeyFingerprint,
        "the old SSH host key was kept",
      );
      await ssh("sync; poweroff").catch(() => undefined);
      await Promise.race([second.exited, new Promise((r) => setTimeout(r, 60_000))]);
      await second.kill();

      const afterInstall = await withMountedImage(
        home.file,
        join(work, "home-mnt"),
        (m) => manifest(m),
        {
          offset: home.offset,
        },
      );
      assert.deepEqual(
        diffManifests(home.before, afterInstall),
        [],
        "/home is byte-, owner- and mode-identical",
      );
      process.stderr.write(
        `[e2e] whole BIOS flow: ${((Date.now() - t0) / 1000).toFixed(0)} s under ${accel.name}\n`,
      );
    },
  );
});

async function vmAddress(server: BedServer, mac: string): Promise<string> {
  type Inv = {
    _meta: { hostvars: Record<string, { ansible_host?: string; automagic_macs?: string[] }> };
  };
  const inv = JSON.parse(await server.cli(["inventory"])) as Inv;
  for (const v of Object.values(inv._meta.hostvars)) {
    if (v.automagic_macs?.includes(mac) && v.ansible_host) return v.ansible_host;
  }
  throw new Error(`no DHCP lease for ${mac} in the inventory`);
}
