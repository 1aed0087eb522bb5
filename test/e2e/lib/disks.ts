// Disk images for the e2e machines: a system disk that already has a
// partition table and an "old" OS (the `keep` layout reformats only root),
// and a /home disk full of files whose manifest must survive the install.
import { mkdir, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { requireTool } from "../../lib/tools.ts";
import {
  HOME_USERS,
  makeExt4Image,
  manifest,
  populateHome,
  type ManifestEntry,
} from "../../lib/home-disk.ts";

const MiB = 1024 * 1024;
/** Root partition starts at 2 MiB (partition 1 is the 1 MiB BIOS boot partition). */
export const ROOT_OFFSET = 2 * MiB;

export interface OldRoot {
  hostKeyFingerprint: string;
}

/**
 * GPT with a BIOS boot partition and a `gentoo-root` partition holding an
 * old root: passwd/shadow/group entries and SSH host keys the spec may keep.
 */
export async function makeBiosSystemDisk(
  file: string,
  workDir: string,
  bytes = 6 * 1024 * MiB,
): Promise<OldRoot> {
  requireTool("sgdisk");
  await execa("truncate", ["-s", String(bytes), file]);
  await execa("sgdisk", [
    "-Z",
    "-n",
    "1:2048:+1M",
    "-t",
    "1:ef02",
    "-c",
    "1:bios-boot",
    "-n",
    "2:4096:0",
    "-t",
    "2:8300",
    "-c",
    "2:gentoo-root",
    file,
  ]);
  // Leave room for the backup GPT.
  return writeOldRoot(file, workDir, ROOT_OFFSET, bytes - ROOT_OFFSET - MiB);
}

/** Slot a of the A/B disk starts after the BIOS boot and the 256 MiB shared boot partition. */
const AB_BOOT_MIB = 256;
const AB_SLOT_A_OFFSET = ROOT_OFFSET + AB_BOOT_MIB * MiB;

/**
 * An A/B table as `layout: ab` adopts it (BIOS): the BIOS boot partition, the
 * shared `automagic-boot` ext4 (no GRUB state yet: no slot was confirmed),
 * slot a holding the same old root as makeBiosSystemDisk, slot b blank.
 */
export async function makeAbBiosSystemDisk(
  file: string,
  workDir: string,
  slotMiB = 4608,
): Promise<OldRoot> {
  requireTool("sgdisk");
  const bytes = AB_SLOT_A_OFFSET + 2 * slotMiB * MiB + MiB;
  await execa("truncate", ["-s", String(bytes), file]);
  await execa("sgdisk", [
    "-Z",
    "-n",
    "1:2048:+1M",
    "-t",
    "1:ef02",
    "-c",
    "1:bios-boot",
    "-n",
    `2:${ROOT_OFFSET / 512}:+${AB_BOOT_MIB}M`,
    "-t",
    "2:8300",
    "-c",
    "2:automagic-boot",
    "-n",
    `3:${AB_SLOT_A_OFFSET / 512}:+${slotMiB}M`,
    "-t",
    "3:8304",
    "-c",
    "3:automagic-a",
    "-n",
    `4:0:+${slotMiB}M`,
    "-t",
    "4:8304",
    "-c",
    "4:automagic-b",
    file,
  ]);
  const boot = join(workDir, "ab-boot.img");
  await mkdir(join(workDir, "ab-boot-src"), { recursive: true });
  await makeExt4Image(boot, join(workDir, "ab-boot-src"), AB_BOOT_MIB * MiB, "automagic-boot");
  await ddInto(boot, file, ROOT_OFFSET);
  return writeOldRoot(file, workDir, AB_SLOT_A_OFFSET, slotMiB * MiB);
}

/** Writes the old root (an ext4 of `partBytes`) into `file` at byte `offset`. */
async function writeOldRoot(
  file: string,
  workDir: string,
  offset: number,
  partBytes: number,
): Promise<OldRoot> {
  const old = join(workDir, "old-root");
  await mkdir(join(old, "etc/ssh"), { recursive: true });
  await writeFile(join(old, "OLD-ROOT-MARKER"), "the previous OS\n");
  await writeFile(
    join(old, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\n",
  );
  await writeFile(join(old, "etc/group"), "root:x:0:\nalice:x:1000:\nbob:x:1001:\n");
  await writeFile(
    join(old, "etc/shadow"),
    "root:!:19000::::::\nalice:!:19000::::::\nbob:!:19000::::::\n",
  );
  await chmod(join(old, "etc/shadow"), 0o640);
  await execa("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    "old-host",
    "-f",
    join(old, "etc/ssh/ssh_host_ed25519_key"),
  ]);
  const fp = await execa("ssh-keygen", ["-l", "-f", join(old, "etc/ssh/ssh_host_ed25519_key.pub")]);
  const part = join(workDir, "old-root.img");
  await makeExt4Image(part, old, partBytes, "old-root");
  await ddInto(part, file, offset);
  return { hostKeyFingerprint: fp.stdout.split(/\s+/)[1] ?? "" };
}

/** Copies a filesystem image into a disk image at byte `offset` (MiB-aligned), then removes it. */
async function ddInto(part: string, file: string, offset: number): Promise<void> {
  await execa("dd", [
    `if=${part}`,
    `of=${file}`,
    "bs=1M",
    `seek=${offset / MiB}`,
    "conv=notrunc,sparse",
    "status=none",
  ]);
  await execa("rm", ["-f", part]);
}

export interface HomeDisk {
  file: string;
  uuid: string;
  /** Byte offset of the /home partition in the disk image (for loop mounts). */
  offset: number;
  before: ManifestEntry[];
}

/** A GPT disk whose one partition is an ext4 /home (label `home`) with alice's and bob's files. */
export async function makeHomeDisk(
  file: string,
  workDir: string,
  filesPerUser = 1500,
  /** Room for the machine's own system images (postInstall.capture to home). */
  sizeMiB = 512,
): Promise<HomeDisk> {
  const src = join(workDir, "home-src");
  await populateHome(src, HOME_USERS, filesPerUser);
  const part = join(workDir, "home-part.img");
  const uuid = await makeExt4Image(part, src, sizeMiB * MiB, "home");
  await execa("truncate", ["-s", String((sizeMiB + 2) * MiB), file]);
  await execa("sgdisk", ["-Z", "-n", `1:2048:+${sizeMiB}M`, "-t", "1:8302", "-c", "1:home", file]);
  await ddInto(part, file, MiB);
  const before = await manifest(src);
  return { file, uuid, offset: MiB, before };
}

/** sha256 of a whole disk image (the "untouched" proof for unarmed machines). */
export { sha256File } from "../../../shared/hash.ts";
