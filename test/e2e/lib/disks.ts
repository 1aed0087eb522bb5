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
  const partBytes = bytes - ROOT_OFFSET - MiB; // leave room for the backup GPT
  await makeExt4Image(part, old, partBytes, "old-root");
  await execa("dd", [
    `if=${part}`,
    `of=${file}`,
    "bs=1M",
    `seek=${ROOT_OFFSET / MiB}`,
    "conv=notrunc,sparse",
    "status=none",
  ]);
  await execa("rm", ["-f", part]);
  return { hostKeyFingerprint: fp.stdout.split(/\s+/)[1] ?? "" };
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
  await execa("dd", [
    `if=${part}`,
    `of=${file}`,
    "bs=1M",
    "seek=1",
    "conv=notrunc,sparse",
    "status=none",
  ]);
  await execa("rm", ["-f", part]);
  const before = await manifest(src);
  return { file, uuid, offset: MiB, before };
}

/** sha256 of a whole disk image (the "untouched" proof for unarmed machines). */
export { sha256File } from "../../../shared/hash.ts";
