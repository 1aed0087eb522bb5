// Thin I/O: what a kernel device name points at right now, read the way the
// probe read it, for the checks in plan/identity.ts. steps/disk.ts calls
// these immediately before wipefs, sgdisk and mkfs.
import { probeDisk } from "../probe/index.ts";
import { parseBlkidExport, parseWipefsTypes } from "../probe/blkid.ts";
import {
  containerProblem,
  diskChanged,
  diskIdentity,
  partitionChanged,
  type DiskIdentity,
  type PartIdentity,
  type PartitionNow,
} from "../plan/identity.ts";
import { CommandError } from "../../shared/command-error.ts";
import type { CommandRunner } from "./runner.ts";

/** Undefined when lsblk exits 32: the name is no block device (gone, or a detached loop). */
async function unlessGone<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof CommandError && err.exitCode === 32) return undefined;
    throw err;
  }
}

export async function diskNow(r: CommandRunner, device: string): Promise<DiskIdentity | undefined> {
  const d = await unlessGone(probeDisk(r, device));
  return d && diskIdentity(d);
}

export async function partitionNow(
  r: CommandRunner,
  device: string,
): Promise<PartitionNow | undefined> {
  const pk = await unlessGone(r.run(["lsblk", "-n", "-d", "-o", "PKNAME", device]));
  if (!pk) return undefined;
  const parent = pk.stdout.trim();
  // Only the partition table's entry: a partition holding two signatures makes
  // a full `blkid -p` give up ("ambivalent result") and print nothing.
  const blkid = await r
    .run(["blkid", "-p", "-o", "export", "-u", "nofilesystem,raid,crypto,other", device])
    .catch((err: unknown) => {
      if (err instanceof CommandError && err.exitCode === 2) return { stdout: "" }; // no table entry
      throw err;
    });
  const entry = parseBlkidExport(blkid.stdout);
  const disk = parent ? await diskNow(r, `/dev/${parent}`) : undefined;
  const { stdout } = await r.run(["wipefs", "--no-act", "--json", device]);
  return {
    ...(entry.PART_ENTRY_UUID ? { partuuid: entry.PART_ENTRY_UUID } : {}),
    ...(entry.PART_ENTRY_NUMBER ? { number: Number(entry.PART_ENTRY_NUMBER) } : {}),
    ...(disk ? { disk } : {}),
    signatures: parseWipefsTypes(stdout),
  };
}

/** Throws, naming the disk, the identity the plan expects and what is there now, unless they match. */
export async function assertDisk(r: CommandRunner, device: string, want: DiskIdentity) {
  const problem = diskChanged(device, want, await diskNow(r, device));
  if (problem) throw new Error(problem);
}

/** The same for a partition; `containers`: also refuse a LUKS, LVM or RAID signature on it. */
export async function assertPartition(
  r: CommandRunner,
  device: string,
  want: PartIdentity,
  containers = false,
) {
  const now = await partitionNow(r, device);
  const problem =
    partitionChanged(device, want, now) ??
    (containers ? containerProblem(device, now!.signatures) : undefined);
  if (problem) throw new Error(problem);
}
