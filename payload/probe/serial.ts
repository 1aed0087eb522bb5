// A disk's serial without udev. lsblk takes SERIAL from the udev database,
// and the RAM image runs no udev, so the serial a host file selects by comes
// from sysfs here, where udev itself would have read it:
//   - virtio: /sys/block/<dev>/serial; NVMe: the controller's device/serial
//     (space-padded to 20 characters by the spec: trimmed);
//   - SCSI and SATA (libata translates ATA IDENTIFY): VPD page 0x80, Unit
//     Serial Number, in device/vpd_pg80 (udev's scsi_id/ata_id read the same);
//   - USB mass storage, whose bridges often have no VPD pages: the USB
//     device's iSerial (udev's usb_id), the `serial` of the first parent
//     that is a USB device.
import { readFile, realpath } from "node:fs/promises";
import path from "node:path";

/** Pure: the serial in a VPD page 0x80 (4-byte header, length in bytes 2-3), trimmed. */
export function vpdSerial(page: Buffer): string | undefined {
  if (page.length < 4 || page[1] !== 0x80) return undefined;
  const len = (page[2]! << 8) | page[3]!;
  const s = page
    .subarray(4, 4 + len)
    .toString("latin1")
    .replace(/\0/g, "")
    .trim();
  return s || undefined;
}

/** Pure: a serial as lsblk or sysfs gave it, trimmed; undefined when blank. */
export function cleanSerial(s: string | undefined): string | undefined {
  const t = s?.replace(/\0/g, "").trim();
  return t ? t : undefined;
}

const text = async (f: string) => cleanSerial(await readFile(f, "latin1").catch(() => undefined));

/** The serial of block device `name` from sysfs, undefined when none is found. */
export async function sysfsSerial(name: string, sys = "/sys"): Promise<string | undefined> {
  const block = path.join(sys, "block", name);
  for (const f of ["serial", "device/serial"]) {
    const v = await text(path.join(block, f));
    if (v) return v;
  }
  const vpd = await readFile(path.join(block, "device/vpd_pg80")).catch(() => undefined);
  const fromVpd = vpd && vpdSerial(vpd);
  if (fromVpd) return fromVpd;
  // USB: walk up from the SCSI device to the USB device that carries it.
  let dir = await realpath(path.join(block, "device")).catch(() => undefined);
  for (let i = 0; dir && i < 8 && dir.startsWith(path.join(sys, "devices")); i++) {
    const usb = await text(path.join(dir, "idVendor"));
    if (usb) return text(path.join(dir, "serial"));
    dir = path.dirname(dir);
  }
  return undefined;
}
