// The RAM image on hardware other than virtio (issue #20), in one boot: a
// machine netboots through an e1000e NIC with that model's iPXE ROM (Debian's
// ipxe-qemu), has two more NICs (rtl8139, vmxnet3) and six disks behind six
// controllers (nvme, ich9-ahci, megasas-gen2, lsi53c895a, pvscsi,
// usb-storage), each with its own serial, and /home on a virtio disk. It is
// armed `discover`: the inventory its RAM system reports (the payload's own
// probe) must name each NIC's driver (the e1000e as the netboot NIC, with the
// address the RAM system's own driver took by DHCP) and each disk by its
// serial, and no disk is written; `hosts draft` turns it into a host file.
// One machine instead of one per device: every boot under TCG costs minutes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeExt4Image } from "../lib/home-disk.ts";
import { makeRawDisk, startVm, type RunningVm } from "../lib/qemu.ts";
import { requireTool } from "../lib/tools.ts";
import type { StoredInventory } from "../../server/app/format-inventory.ts";
import { openInstallBed, type InstallBed } from "./lib/install-bed.ts";

const MIN = 60_000;
const IPXE_ROMS = "/usr/lib/ipxe/qemu";
const HOST = "dm-machine";

/** The netboot NIC first; the others sit on the same bridge. */
const NICS = [
  { model: "e1000e", driver: /^e1000e$/, mac: "52:54:00:d0:00:01", tap: "tap0" },
  // QEMU's RTL8139 is revision 0x20: 8139cp claims it before 8139too
  { model: "rtl8139", driver: /^8139(cp|too)$/, mac: "52:54:00:d0:00:02", tap: "tap1" },
  { model: "vmxnet3", driver: /^vmxnet3$/, mac: "52:54:00:d0:00:03", tap: "tap2" },
] as const;

/** A disk (`disk` device) on bus 0 of its own `hba`; NVMe is both in one device. */
interface Controller {
  name: string;
  serial: string;
  hba?: string;
  disk: string;
}

const CONTROLLERS: Controller[] = [
  { name: "nvme", serial: "DM-NVME-01", disk: "nvme" },
  { name: "ich9-ahci", serial: "DM-AHCI-02", hba: "ich9-ahci", disk: "ide-hd" },
  { name: "megasas-gen2", serial: "DM-MEGASAS-03", hba: "megasas-gen2", disk: "scsi-hd" },
  { name: "lsi53c895a", serial: "DM-LSI-04", hba: "lsi53c895a", disk: "scsi-hd" },
  { name: "pvscsi", serial: "DM-PVSCSI-05", hba: "pvscsi", disk: "scsi-hd" },
  { name: "usb-storage", serial: "DM-USB-06", hba: "qemu-xhci", disk: "usb-storage" },
];

/** QEMU arguments attaching `file` as drive `id` behind controller `c`. */
function controllerArgs(c: Controller, id: string, file: string): string[] {
  const drive = ["-drive", `if=none,id=${id},format=raw,file=${file},cache=unsafe`];
  const disk = `${c.disk},drive=${id},serial=${c.serial}`;
  if (!c.hba) return [...drive, "-device", disk];
  return ["-device", `${c.hba},id=${id}hba`, ...drive, "-device", `${disk},bus=${id}hba.0`];
}

/** QEMU arguments for NIC `i` of NICS; only the first has a ROM and boots. */
function nicArgs(i: number): string[] {
  const n = NICS[i]!;
  const boot = i === 0 ? `,romfile=${join(IPXE_ROMS, `efi-${n.model}.rom`)},bootindex=1` : "";
  return [
    "-netdev",
    `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`,
    "-device",
    `${n.model},netdev=n${i},mac=${n.mac}${boot}`,
  ];
}

/**
 * A host file for the machine from the UEFI test host's (its users carry
 * the test's key): BIOS firmware, its three MACs, the NVMe disk as target.
 */
async function writeHost(hostsDir: string) {
  const base = await readFile(join(hostsDir, "qemu-uefi.yaml"), "utf8");
  const macs = NICS.map((n) => `"${n.mac}"`).join(", ");
  const text = base
    .replace(/^macs: .*$/m, `macs: [${macs}]`)
    .replace(/^firmware: uefi$/m, "firmware: bios")
    .replace(/^\s+espSize: .*\n/m, "")
    .replaceAll("AM-SYS-UEFI", CONTROLLERS[0]!.serial);
  assert.ok(!/uefi$|espSize|AM-SYS/m.test(text.replace(/groups: \[qemu, uefi\]/, "")), text);
  await writeFile(join(hostsDir, `${HOST}.yaml`), text);
}

function powerOn(bed: InstallBed): RunningVm {
  return startVm(
    {
      name: HOST,
      firmware: "bios",
      mac: NICS[0].mac,
      memMiB: 1536,
      // /home: a whole-disk ext4 on a virtio disk (the host file finds it by label)
      disks: [{ file: join(bed.work, "home.img"), serial: "DM-HOME" }],
      // Disks boot after the NIC (bootindex 2 on); the NICs are extraArgs.
      netbootFirst: true,
      workDir: bed.work,
      extraArgs: [
        ...NICS.flatMap((_, i) => nicArgs(i)),
        ...CONTROLLERS.flatMap((c, i) =>
          controllerArgs(c, `c${i}`, join(bed.work, `${c.name}.img`)),
        ),
      ],
    },
    bed.accel,
    { netns: bed.bed.ns },
  );
}

// Under TCG on a loaded 2-core machine one boot takes minutes.
const BOOT_MS = 20 * MIN;

describe("RAM image device matrix (QEMU, one machine, discover)", { timeout: 30 * MIN }, () => {
  let b: InstallBed | undefined;
  let vm: RunningVm | undefined;
  let got: StoredInventory | undefined;

  before(async () => {
    for (const t of ["qemu-system-x86_64", "dnsmasq", "ip", "mkfs.ext4"]) requireTool(t);
    const rom = join(IPXE_ROMS, `efi-${NICS[0].model}.rom`);
    assert.ok(existsSync(rom), `${rom} missing (Debian's ipxe-qemu)`);
    b = await openInstallBed({
      name: "am-devmatrix",
      ns: "am-dm",
      taps: NICS.map((n) => n.tap),
      noMirror: true,
      prepare: async (work) => {
        await writeHost(join(work, "hosts"));
        for (const c of CONTROLLERS) await makeRawDisk(join(work, `${c.name}.img`), 8 * 2 ** 30);
        const src = join(work, "home-src");
        await mkdir(join(src, "alice"), { recursive: true });
        await writeFile(join(src, "alice", "notes.txt"), "kept\n");
        await makeExt4Image(join(work, "home.img"), src, 64 * 2 ** 20, "home");
      },
    });
    await b.server.cli(["next", HOST, "discover"]);
    const t0 = Date.now();
    vm = powerOn(b);
    b.vms.push(vm);
    const deadline = t0 + BOOT_MS;
    let exited = false;
    void vm.exited.then(() => (exited = true));
    while (!got) {
      // Discover powers the machine off once its report is in: ask first.
      const gone = exited;
      got = await b.server.json<StoredInventory>(["inventory", HOST]).catch(() => undefined);
      if (!got) {
        assert.ok(!gone, `${HOST}: QEMU exited without an inventory (console: ${vm.consoleLog})`);
        assert.ok(
          Date.now() < deadline,
          `${HOST}: no inventory within ${BOOT_MS} ms (console: ${vm.consoleLog})`,
        );
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    process.stderr.write(`[matrix] inventory after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    await vm.kill();
  });

  after(async () => {
    await b?.close();
  });

  test("e1000e (netboot, iPXE ROM), rtl8139, vmxnet3: each bound to its driver in the RAM system", () => {
    const nics = got!.inventory.nics;
    const seen = nics.map((n) => `${n.mac}:${n.driver ?? "-"}${n.netboot ? "*" : ""}`).join(", ");
    for (const n of NICS) {
      const nic = nics.find((x) => x.mac.toLowerCase() === n.mac);
      assert.ok(nic, `${n.model}: a NIC with ${n.mac} (seen ${seen})`);
      assert.match(nic.driver ?? "", n.driver, `${n.model}: its driver (seen ${seen})`);
    }
    const boot = nics.find((x) => x.netboot);
    // The RAM system took its address on the netboot NIC (BOOTIF) with its own
    // e1000e driver: the report that reached us went out through it.
    assert.equal(boot?.mac.toLowerCase(), NICS[0].mac, `the e1000e carried the netboot (${seen})`);
  });

  test("nvme, ich9-ahci, megasas-gen2, lsi53c895a, pvscsi, usb-storage: each disk by its serial, none written", async () => {
    const disks = got!.inventory.disks;
    const seen = disks.map((d) => `${d.name}:${d.serial ?? "-"}`).join(", ");
    for (const c of CONTROLLERS)
      assert.ok(
        disks.some((d) => d.serial === c.serial),
        `${c.name}: a disk with serial ${c.serial} (seen ${seen})`,
      );
    assert.ok(
      disks.some((d) => d.serial === "DM-HOME"),
      `the /home disk (seen ${seen})`,
    );
    // Made sparse and blank: a single block written would be allocated.
    for (const c of CONTROLLERS)
      assert.equal(
        (await stat(join(b!.work, `${c.name}.img`))).blocks,
        0,
        `${c.name}: discover wrote nothing`,
      );
    const draft = await b!.server.cli(["hosts", "draft", HOST]);
    for (const n of NICS) assert.match(draft, new RegExp(`^macs: .*${n.mac}`, "im"), draft);
  });
});
