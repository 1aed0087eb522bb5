// What a partition can hold that a keep layout must never format, made with
// the real tools (cryptsetup, pvcreate), and a checksum of a partition's
// bytes that stays fast on sparse multi-GiB loop images.
import { execFileSync } from "node:child_process";
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { requireTool } from "../../lib/tools.ts";

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(requireTool(cmd), args, {
    encoding: "utf8",
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    ...(input === undefined ? {} : { input }),
  });

export type Container = "luks" | "lvm" | "md";

/** The blkid/wipefs name of each container's signature. */
export const SIGNATURE: Record<Container, string> = {
  luks: "crypto_LUKS",
  lvm: "LVM2_member",
  md: "linux_raid_member",
};

/** A LUKS2 header (cheap PBKDF: a test needs the header, not the key's strength). Never opened. */
export function luksFormat(dev: string): void {
  sh(
    "cryptsetup",
    [
      "luksFormat",
      "--batch-mode",
      "--type",
      "luks2",
      "--pbkdf",
      "pbkdf2",
      "--pbkdf-force-iterations",
      "1000",
      "--key-file",
      "-",
      dev,
    ],
    "test-passphrase",
  );
}

/** An LVM physical volume label; no volume group, so no device-mapper state. */
export function pvCreate(dev: string): void {
  sh("pvcreate", ["--yes", "--force", dev]);
}

/**
 * Both partitions become members of one two-disk RAID1, metadata 1.2 (the
 * superblock 4 KiB into each member), as `mdadm --create --metadata=1.2`
 * writes it. This kernel has no md driver (no /proc/mdstat), and mdadm
 * --create needs one to start the array, so the superblock is written from
 * its on-disk format (struct mdp_superblock_1, md_p.h) and the test has
 * `mdadm --examine` accept it (checksum correct) before relying on it.
 */
export function mdMembers(devs: [string, string]): void {
  const setUuid = randomBytes(16);
  const now = BigInt(Math.floor(Date.now() / 1000));
  devs.forEach((dev, i) => {
    const sectors = BigInt(sysfsNumber(dev, "size"));
    const dataOffset = 2048n;
    const maxDev = 128;
    const sb = Buffer.alloc(256 + 2 * maxDev);
    sb.writeUInt32LE(0xa92b4efc, 0); // magic
    sb.writeUInt32LE(1, 4); // major_version
    setUuid.copy(sb, 16);
    sb.write("automagic-test:0", 32, "ascii"); // set_name
    sb.writeBigUInt64LE(now, 64); // ctime
    sb.writeUInt32LE(1, 72); // level: raid1
    sb.writeBigUInt64LE(sectors - dataOffset, 80); // size
    sb.writeUInt32LE(2, 92); // raid_disks
    sb.writeBigUInt64LE(dataOffset, 128); // data_offset
    sb.writeBigUInt64LE(sectors - dataOffset, 136); // data_size
    sb.writeBigUInt64LE(8n, 144); // super_offset: 4 KiB, metadata 1.2
    sb.writeUInt32LE(i, 160); // dev_number
    randomBytes(16).copy(sb, 168); // device_uuid
    sb.writeBigUInt64LE(now, 192); // utime
    sb.writeBigUInt64LE(1n, 200); // events
    sb.writeBigUInt64LE(0xffffffffffffffffn, 208); // resync_offset: clean
    sb.writeUInt32LE(maxDev, 220); // max_dev
    for (let d = 0; d < maxDev; d++) sb.writeUInt16LE(d < 2 ? d : 0xffff, 256 + 2 * d); // dev_roles
    sb.writeUInt32LE(mdChecksum(sb), 216); // sb_csum
    const fd = openSync(dev, "r+");
    try {
      writeSync(fd, sb, 0, sb.length, 4096);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
  for (const dev of devs) {
    const out = sh("mdadm", ["--examine", dev]);
    if (!/Checksum : \w+ - correct/.test(out) || !/Raid Level : raid1/.test(out))
      throw new Error(`mdadm --examine does not accept the md superblock on ${dev}:\n${out}`);
  }
}

/** Sum of the little-endian 32-bit words with sb_csum as 0, folded to 32 bits (calc_sb_1_csum). */
function mdChecksum(sb: Buffer): number {
  let sum = 0n;
  for (let o = 0; o < sb.length; o += 4) sum += BigInt(o === 216 ? 0 : sb.readUInt32LE(o));
  return Number(((sum & 0xffffffffn) + (sum >> 32n)) & 0xffffffffn);
}

export function makeContainer(kind: Container, devs: [string, string]): void {
  if (kind === "luks") luksFormat(devs[0]);
  else if (kind === "lvm") pvCreate(devs[0]);
  else mdMembers(devs);
}

const sysfsNumber = (dev: string, file: string) =>
  Number(readFileSync(`/sys/class/block/${basename(dev)}/${file}`, "utf8").trim());

/** Where a partition of a loop device lies in its image file, in bytes. */
export function extent(part: string): { offset: number; length: number } {
  return { offset: sysfsNumber(part, "start") * 512, length: sysfsNumber(part, "size") * 512 };
}

// Hashes only the data extents (SEEK_DATA/SEEK_HOLE) with their offsets: a
// 4 GiB sparse partition in milliseconds instead of a minute of zeros. Any
// write, even of zeros, allocates an extent and changes the digest.
const SPARSE_DIGEST = `
import hashlib, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
start, end = int(sys.argv[2]), int(sys.argv[2]) + int(sys.argv[3])
h, pos = hashlib.sha256(), start
while pos < end:
    try:
        d = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    if d >= end:
        break
    e = min(os.lseek(fd, d, os.SEEK_HOLE), end)
    h.update(b"%d:%d\\n" % (d - start, e - d))
    os.lseek(fd, d, os.SEEK_SET)
    left = e - d
    while left:
        b = os.read(fd, min(left, 1 << 20))
        h.update(b)
        left -= len(b)
    pos = e
print(h.hexdigest())
`;

/** sha256 of the bytes of `image` in [offset, offset + length). */
export function imageDigest(image: string, at: { offset: number; length: number }): string {
  return sh("python3", ["-c", SPARSE_DIGEST, image, String(at.offset), String(at.length)]).trim();
}
