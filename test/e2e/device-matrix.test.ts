// The RAM image on hardware other than virtio (issue #20). Every other test
// machine has a virtio NIC and virtio disks; here:
//   - one short boot per NIC model (e1000e, rtl8139, vmxnet3), netbooted by
//     that model's iPXE ROM from Debian's ipxe-qemu: the RAM system's own
//     driver must then take DHCP and serve SSH (the machines are armed
//     `rescue`), and the NIC carrying the address must be bound to the
//     expected driver;
//   (the disk-controller machine is still to come: issue #20 item 4).
// One server bed for all boots; the NIC machines boot together.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startVm, type RunningVm } from "../lib/qemu.ts";
import { requireTool } from "../lib/tools.ts";
import { openInstallBed, type InstallBed } from "./lib/install-bed.ts";
import { leaseAddress } from "./lib/install-flow.ts";
import { sshTo, waitForSsh } from "./lib/ssh.ts";

const MIN = 60_000;
const IPXE_ROMS = "/usr/lib/ipxe/qemu";

const NICS = [
  { model: "e1000e", driver: /^e1000e$/, mac: "52:54:00:d0:00:01", tap: "tap0" },
  // QEMU's RTL8139 is revision 0x20: 8139cp claims it before 8139too
  { model: "rtl8139", driver: /^8139(cp|too)$/, mac: "52:54:00:d0:00:02", tap: "tap1" },
  { model: "vmxnet3", driver: /^vmxnet3$/, mac: "52:54:00:d0:00:03", tap: "tap2" },
] as const;

/**
 * A host file for `mac` from the UEFI test host's (its users carry the
 * test's key): BIOS firmware, a fresh GPT on the disk with `serial`.
 */
async function writeHost(hostsDir: string, host: string, mac: string, serial: string) {
  const base = await readFile(join(hostsDir, "qemu-uefi.yaml"), "utf8");
  const text = base
    .replace(/^macs: .*$/m, `macs: ["${mac}"]`)
    .replace(/^firmware: uefi$/m, "firmware: bios")
    .replace(/^\s+espSize: .*\n/m, "")
    .replaceAll("AM-SYS-UEFI", serial);
  assert.ok(!/uefi$|espSize|AM-SYS/m.test(text.replace(/groups: \[qemu, uefi\]/, "")), text);
  await writeFile(join(hostsDir, `${host}.yaml`), text);
}

let b: InstallBed | undefined;

before(() => {
  for (const t of ["qemu-system-x86_64", "dnsmasq", "ip", "ssh", "mkfs.ext4"]) requireTool(t);
  for (const n of NICS) {
    const rom = join(IPXE_ROMS, `efi-${n.model}.rom`);
    assert.ok(existsSync(rom), `${rom} missing (Debian's ipxe-qemu)`);
  }
});

after(async () => {
  await b?.close();
});

/** Arms `rescue`, waits for the RAM system's SSH at the address its DHCP lease got. */
async function rescueSsh(bed: InstallBed, host: string, mac: string, ms: number) {
  const deadline = Date.now() + ms;
  let ip: string | undefined;
  while (!ip) {
    ip = await leaseAddress(bed.server, mac).catch(() => undefined);
    if (!ip) {
      assert.ok(Date.now() < deadline, `${host}: no DHCP lease for ${mac}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  await waitForSsh(bed.bed, ip, bed.keyFile, deadline - Date.now());
  return (cmd: string) => sshTo(bed.bed, ip, bed.keyFile, cmd);
}

/** The NIC machines: no disk, that model's NIC with Debian's iPXE ROM for it. */
function powerOnNic(bed: InstallBed, n: (typeof NICS)[number]): RunningVm {
  const rom = join(IPXE_ROMS, `efi-${n.model}.rom`);
  return startVm(
    {
      name: `dm-${n.model}`,
      firmware: "bios",
      mac: n.mac,
      memMiB: 1536,
      disks: [],
      workDir: bed.work,
      extraArgs: [
        "-netdev",
        `tap,id=n0,ifname=${n.tap},script=no,downscript=no`,
        "-device",
        `${n.model},netdev=n0,mac=${n.mac},romfile=${rom},bootindex=1`,
      ],
    },
    bed.accel,
    { netns: bed.bed.ns },
  );
}

// Under TCG on a loaded 2-core machine one boot takes minutes (rtl8139's
// iPXE moves the initrd at ~0.5 MB/s): all four machines boot at once.
const BOOT_MS = 20 * MIN;

describe("RAM image device matrix (QEMU)", { timeout: 30 * MIN }, () => {
  let t0 = 0;
  let nicVms: RunningVm[] = [];
  before(async () => {
    b = await openInstallBed({
      name: "am-devmatrix",
      ns: "am-dm",
      taps: ["tap0", "tap1", "tap2"],
      noMirror: true,
      prepare: async (work) => {
        const hosts = join(work, "hosts");
        for (const n of NICS) await writeHost(hosts, `dm-${n.model}`, n.mac, "DM-NONE");
      },
    });
    for (const n of NICS) await b.server.cli(["next", `dm-${n.model}`, "rescue"]);
    t0 = Date.now();
    nicVms = NICS.map((n) => powerOnNic(b!, n));
    b.vms.push(...nicVms);
  });

  test("e1000e, rtl8139, vmxnet3: iPXE ROM netboots, the RAM system's driver takes DHCP and SSH", async () => {
    const bed = b!;
    const vms = nicVms;
    await Promise.all(
      NICS.map(async (n, i) => {
        const ssh = await rescueSsh(bed, `dm-${n.model}`, n.mac, BOOT_MS).catch((err: Error) => {
          throw new Error(`${n.model}: ${err.message} (console: ${vms[i]!.consoleLog})`, {
            cause: err,
          });
        });
        // the interface with this MAC, and the driver bound to it
        const out = await ssh(
          `for i in /sys/class/net/*; do if [ "$(cat $i/address)" = ${n.mac} ]; then ` +
            `echo "$(basename $(readlink $i/device/driver)) $(ip -4 -o addr show dev \${i##*/} | wc -l)"; fi; done`,
        );
        const [driver, addrs] = out.trim().split(" ");
        assert.match(driver ?? "", n.driver, `${n.model}: driver of ${n.mac} (${out})`);
        assert.equal(addrs, "1", `${n.model}: the RAM system's ${driver} carries its address`);
        process.stderr.write(
          `[matrix] ${n.model}: driver ${driver}, SSH after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
        );
        await vms[i]!.kill();
      }),
    );
  });
});
