// The discover run's pure parsers on recorded outputs (test/fixtures/discover/):
// kernel log, /proc, efivars, /sys/class/net, lsblk -J, and what a
// partition's top level says it is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  firmwareFailures,
  memTotalBytes,
  nicOf,
  parseCpuinfo,
  parseOsRelease,
  secureBootState,
  unboundControllers,
  type NicFacts,
} from "../../../payload/discover/parse.ts";
import { classifyPartition, homeOwners } from "../../../payload/discover/classify.ts";
import { parseLsblk } from "../../../payload/probe/lsblk.ts";
import type { HomeEntry, ProbedPartition } from "../../../payload/probe/types.ts";
import { inventorySchema } from "../../../payload/spec/inventory.ts";

const FIX = join(import.meta.dirname, "../../fixtures/discover");
const fixture = (f: string) => readFileSync(join(FIX, f));
const text = (f: string) => fixture(f).toString("utf8");

test("dmesg: each missing firmware once, from either kernel line, with driver and device", () => {
  const p = firmwareFailures(text("dmesg-missing-firmware.txt"));
  assert.deepEqual(
    p.map(({ driver, device, file }) => ({ driver, device, file })),
    [
      { driver: "r8169", device: "0000:03:00.0", file: "rtl_nic/rtl8168h-2.fw" },
      { driver: "bnx2", device: "0000:01:00.0", file: "bnx2/bnx2-mips-09-6.2.1b.fw" },
    ],
  );
  assert.ok(p.every((x) => x.kind === "firmware-missing"));
  assert.match(
    p[0]!.message,
    /r8169 0000:03:00\.0: firmware rtl_nic\/rtl8168h-2\.fw could not be loaded \(error -2\)/,
  );
  // without timestamps (dmesg --notime, /dev/kmsg priority prefixes) the same
  const bare = text("dmesg-missing-firmware.txt").replace(/^\[[^\]]*\] /gm, "<3>");
  assert.deepEqual(firmwareFailures(bare), p);
  assert.deepEqual(firmwareFailures("[ 1.0] EXT4-fs (sda2): mounted\n"), []);
});

test("cpuinfo and meminfo of the CI machine", () => {
  const cpu = parseCpuinfo(text("cpuinfo-2cpu.txt"));
  assert.equal(cpu.count, 2);
  assert.equal(cpu.model, "AMD EPYC");
  assert.equal(cpu.sockets, 1);
  assert.equal(memTotalBytes("MemTotal:        8136508 kB\nMemFree: 1 kB\n"), 8136508 * 1024);
  assert.equal(memTotalBytes(text("meminfo.txt")) > 0, true);
  assert.deepEqual(parseCpuinfo(""), { model: "unknown", count: 0 });
});

test("Secure Boot from the efivars' value byte; SetupMode wins", () => {
  const v = (f: string) => fixture(f);
  assert.equal(
    secureBootState(v("efivar-SecureBoot-on.bin"), v("efivar-SetupMode-off.bin")),
    "enabled",
  );
  assert.equal(
    secureBootState(v("efivar-SecureBoot-off.bin"), v("efivar-SetupMode-off.bin")),
    "disabled",
  );
  assert.equal(
    secureBootState(v("efivar-SecureBoot-off.bin"), v("efivar-SetupMode-on.bin")),
    "setup-mode",
  );
  assert.equal(secureBootState(undefined, undefined), "unknown");
  assert.equal(secureBootState(Uint8Array.from([6, 0, 0]), undefined), "unknown");
});

test("NICs from /sys/class/net: Ethernet-type only, speed only when up, the netboot one marked", () => {
  const facts = JSON.parse(text("sysfs-nics.json")) as NicFacts[];
  const nics = facts.map((f) => nicOf(f, "52:54:00:a0:00:07")).filter((n) => n !== undefined);
  assert.deepEqual(nics, [
    {
      name: "enp3s0",
      mac: "52:54:00:a0:00:07",
      driver: "r8169",
      bus: "0000:03:00.0",
      speedMbps: 1000,
      link: "up",
      netboot: true,
    },
    {
      name: "enp1s0f0",
      mac: "00:10:18:aa:bb:cc",
      driver: "bnx2",
      bus: "0000:01:00.0",
      link: "down",
      netboot: false,
    },
    {
      name: "usb0",
      mac: "02:11:22:33:44:55",
      driver: "cdc_ether",
      bus: "2-1:1.0",
      link: "unknown",
      netboot: false,
    },
  ]);
});

test("storage and network controllers without a driver are problems; others are not", () => {
  const p = unboundControllers([
    { slot: "0000:00:1f.2", class: "0x010601", vendor: "0x8086", device: "0xa102", driver: "ahci" },
    { slot: "0000:02:00.0", class: "0x010802", vendor: "0x144d", device: "0xa80a" },
    { slot: "0000:01:00.0", class: "0x020000", vendor: "0x14e4", device: "0x1639" },
    { slot: "0000:00:02.0", class: "0x030000", vendor: "0x8086", device: "0x1912" },
  ]);
  assert.deepEqual(
    p.map((x) => x.message),
    [
      "NVMe controller 0000:02:00.0 [144d:a80a] has no driver in the RAM system",
      "Ethernet controller 0000:01:00.0 [14e4:1639] has no driver in the RAM system",
    ],
  );
});

test("os-release: PRETTY_NAME and ID, quoted or not", () => {
  assert.deepEqual(parseOsRelease('NAME=Gentoo\nID=gentoo\nPRETTY_NAME="Gentoo Linux"\n'), {
    id: "gentoo",
    name: "Gentoo Linux",
  });
  assert.deepEqual(parseOsRelease("ID=debian\n"), { id: "debian", name: "debian" });
});

const dirEntry = (name: string, uid: number): HomeEntry => ({ name, uid, gid: uid, isDir: true });

test("classify: ESP, swap, Gentoo root, another OS, /home by name or by its owners", () => {
  // lsblk -J of a GPT disk as the RAM image (no udev) reports it, blkid merged in
  const [disk] = parseLsblk(
    JSON.stringify({
      blockdevices: [
        {
          name: "sda",
          type: "disk",
          size: 64e9,
          children: [
            {
              name: "sda1",
              type: "part",
              size: 5e8,
              fstype: "vfat",
              parttype: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            },
            { name: "sda2", type: "part", size: 4e9, fstype: "swap" },
            { name: "sda3", type: "part", size: 2e10, fstype: "ext4" },
            { name: "sda4", type: "part", size: 2e10, fstype: "ext4" },
            { name: "sda5", type: "part", size: 1e10, fstype: "xfs", label: "home" },
            { name: "sda6", type: "part", size: 1e10, fstype: "ext4" },
          ],
        },
      ],
    }),
  );
  const [esp, swap, gentoo, debian, named, unnamed] = disk!.partitions as ProbedPartition[];
  const root = (os: string) => ({
    entries: [dirEntry("etc", 0)],
    osRelease: os,
    gentooRelease: false,
    passwd: true,
  });
  assert.deepEqual(classifyPartition(esp!, undefined), { role: "esp" });
  assert.deepEqual(classifyPartition(swap!, undefined), { role: "swap" });
  assert.deepEqual(
    classifyPartition(gentoo!, {
      ...root('ID=gentoo\nPRETTY_NAME="Gentoo Linux"\n'),
      gentooRelease: true,
    }),
    { role: "gentoo-root", os: "Gentoo Linux" },
  );
  assert.deepEqual(
    classifyPartition(debian!, root('PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\n')),
    {
      role: "os-root",
      os: "Debian GNU/Linux 13 (trixie)",
    },
  );
  assert.deepEqual(classifyPartition(named!, undefined), { role: "home" });
  const people = {
    entries: [dirEntry("lost+found", 0), dirEntry("alice", 1000), dirEntry("nobody", 65534)],
    gentooRelease: false,
    passwd: false,
  };
  assert.deepEqual(classifyPartition(unnamed!, people), { role: "home" });
  assert.deepEqual(homeOwners(people.entries), [{ name: "alice", uid: 1000 }]);
  // only root-owned directories: nothing to say
  assert.deepEqual(classifyPartition(unnamed!, { ...people, entries: [dirEntry("data", 0)] }), {});
});

test("the recorded inventories are valid against the schema the server uses", () => {
  for (const f of [
    "inventory-uefi-keep.json",
    "inventory-bios-create.json",
    "inventory-no-home.json",
  ]) {
    const r = inventorySchema.safeParse(JSON.parse(text(f)));
    assert.ok(r.success, `${f}: ${r.success ? "" : r.error.message}`);
  }
});
