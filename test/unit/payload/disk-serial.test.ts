// Disk serials without udev (payload/probe/serial.ts), on a fake sysfs tree
// laid out as the kernel lays it out for virtio, NVMe, SATA/SCSI and USB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cleanSerial, sysfsSerial, vpdSerial } from "../../../payload/probe/serial.ts";

function vpd80(serial: string): Buffer {
  const s = Buffer.from(serial, "latin1");
  return Buffer.concat([Buffer.from([0x00, 0x80, 0x00, s.length]), s]);
}

function put(root: string, rel: string, data: string | Buffer): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), data);
}

/** /sys/block/<name>/device -> /sys/devices/<devicePath> */
function blockDevice(root: string, name: string, devicePath: string): void {
  mkdirSync(join(root, "devices", devicePath), { recursive: true });
  mkdirSync(join(root, "block", name), { recursive: true });
  symlinkSync(join(root, "devices", devicePath), join(root, "block", name, "device"));
}

test("VPD page 0x80: the serial after the 4-byte header, padding and NULs trimmed", () => {
  assert.equal(vpdSerial(vpd80("  DM-AHCI-02  \0")), "DM-AHCI-02");
  assert.equal(
    vpdSerial(Buffer.from([0x00, 0x83, 0x00, 0x02, 0x41, 0x42])),
    undefined,
    "not page 0x80",
  );
  assert.equal(vpdSerial(Buffer.from([0x00, 0x80])), undefined, "truncated");
  assert.equal(vpdSerial(vpd80("    ")), undefined, "blank");
});

test("an NVMe serial as lsblk gives it (space-padded to 20) is trimmed", () => {
  assert.equal(cleanSerial("DM-NVME-01          "), "DM-NVME-01");
  assert.equal(cleanSerial("   "), undefined);
});

test("sysfs: virtio, NVMe, SATA/SCSI (VPD 0x80) and USB (the USB device's serial)", async () => {
  const sys = mkdtempSync(join(tmpdir(), "am-sysfs-"));
  put(sys, "block/vda/serial", "AM-SYS-BIOS\n");
  blockDevice(sys, "nvme0n1", "pci0000:00/0000:00:04.0/nvme/nvme0");
  put(sys, "devices/pci0000:00/0000:00:04.0/nvme/nvme0/serial", "DM-NVME-01          \n");
  blockDevice(sys, "sda", "pci0000:00/0000:00:05.0/ata1/host0/target0:0:0/0:0:0:0");
  put(
    sys,
    "devices/pci0000:00/0000:00:05.0/ata1/host0/target0:0:0/0:0:0:0/vpd_pg80",
    vpd80("DM-AHCI-02"),
  );
  const usbDev = "pci0000:00/0000:00:06.0/usb1/1-1";
  blockDevice(sys, "sdb", `${usbDev}/1-1:1.0/host2/target2:0:0/2:0:0:0`);
  put(sys, `devices/${usbDev}/idVendor`, "46f4\n");
  put(sys, `devices/${usbDev}/serial`, "DM-USB-06\n");
  blockDevice(sys, "sdc", "pci0000:00/0000:00:07.0/host3/target3:0:0/3:0:0:0");
  assert.equal(await sysfsSerial("vda", sys), "AM-SYS-BIOS");
  assert.equal(await sysfsSerial("nvme0n1", sys), "DM-NVME-01");
  assert.equal(await sysfsSerial("sda", sys), "DM-AHCI-02");
  assert.equal(await sysfsSerial("sdb", sys), "DM-USB-06");
  assert.equal(await sysfsSerial("sdc", sys), undefined, "a disk that reports none");
  assert.equal(await sysfsSerial("sdz", sys), undefined, "no such disk");
});
