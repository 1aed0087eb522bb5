// Pure: what a device must still be when a destructive command is about to
// run on it. Kernel names (sda, nvme0n1p3, loop2p2) are handed out in the
// order devices appear: a disk that resets during the download, a USB stick
// plugged in, a loop device re-attached, and the name probed minutes earlier
// is another device. So the plan records each target's stable identity from
// the probe, and steps/disk.ts reads what the name points at right before
// wipefs/sgdisk/mkfs (run/identity.ts) and asks the functions below.
import type { ProbedDisk } from "../probe/types.ts";

/** A whole disk: serial and WWN where the hardware has them, a loop's backing file, its size. */
export interface DiskIdentity {
  serial?: string;
  wwn?: string;
  /** Loop devices only: the image file behind it. */
  backingFile?: string;
  sizeBytes: number;
}

/**
 * A partition: one that exists by its PARTUUID (a keep layout), one this run's
 * partition step makes by its disk and number (its PARTUUID is not known yet).
 */
export type PartIdentity = { partuuid: string } | { disk: DiskIdentity; number: number };

/** What a partition's kernel name points at now. */
export interface PartitionNow {
  partuuid?: string;
  number?: number;
  disk?: DiskIdentity;
  /** Every signature on it, as `wipefs --no-act` lists what `wipefs --all` would erase. */
  signatures: string[];
}

export function diskIdentity(d: ProbedDisk): DiskIdentity {
  return {
    ...(d.serial ? { serial: d.serial } : {}),
    ...(d.wwn ? { wwn: d.wwn } : {}),
    ...(d.backingFile ? { backingFile: d.backingFile } : {}),
    sizeBytes: d.sizeBytes,
  };
}

export function describeDiskIdentity(i: DiskIdentity): string {
  const bits: string[] = [];
  if (i.serial) bits.push(`serial ${i.serial}`);
  if (i.wwn) bits.push(`WWN ${i.wwn}`);
  if (i.backingFile) bits.push(`backing file ${i.backingFile}`);
  bits.push(`${i.sizeBytes} bytes`);
  return bits.join(", ");
}

export function describePartIdentity(i: PartIdentity): string {
  return "partuuid" in i
    ? `PARTUUID ${i.partuuid}`
    : `partition ${i.number} of the disk with ${describeDiskIdentity(i.disk)}`;
}

const normWwn = (w: string | undefined) => w?.toLowerCase().replace(/^0x/, "");

function sameDisk(want: DiskIdentity, now: DiskIdentity): boolean {
  return (
    want.serial === now.serial &&
    normWwn(want.wwn) === normWwn(now.wwn) &&
    want.backingFile === now.backingFile &&
    want.sizeBytes === now.sizeBytes
  );
}

/** Why `device` may not be written as the disk the plan was made for, or undefined when it may. */
export function diskChanged(
  device: string,
  want: DiskIdentity,
  now: DiskIdentity | undefined,
): string | undefined {
  if (now && sameDisk(want, now)) return undefined;
  return `${device} is no longer the disk the plan was made for: expected ${describeDiskIdentity(want)}; now ${now ? describeDiskIdentity(now) : "no such disk"}; refusing to write it`;
}

function describeNow(now: PartitionNow): string {
  const bits = [
    now.partuuid ? `PARTUUID ${now.partuuid}` : "no PARTUUID",
    ...(now.number !== undefined && now.disk
      ? [`partition ${now.number} of the disk with ${describeDiskIdentity(now.disk)}`]
      : []),
    now.signatures.length
      ? `holding ${[...new Set(now.signatures)].join(" + ")}`
      : "no signature on it",
  ];
  return bits.join(", ");
}

/** Why `device` may not be wiped as the partition the plan was made for, or undefined when it may. */
export function partitionChanged(
  device: string,
  want: PartIdentity,
  now: PartitionNow | undefined,
): string | undefined {
  const same =
    now !== undefined &&
    ("partuuid" in want
      ? now.partuuid?.toLowerCase() === want.partuuid.toLowerCase()
      : now.number === want.number && now.disk !== undefined && sameDisk(want.disk, now.disk));
  if (same) return undefined;
  return `${device} is no longer the partition the plan was made for: expected ${describePartIdentity(want)}; now ${now ? describeNow(now) : "no such partition"}; refusing to wipe it`;
}

/**
 * Signatures that make a partition part of something bigger: what is inside
 * lives elsewhere (a LUKS mapping, a volume group, an array), so formatting
 * it destroys more than an old root. blkid names every firmware RAID format
 * `*_raid_member` (isw = Intel Matrix, ddf = SNIA DDF, and the older ones).
 */
export function containerSignature(types: readonly string[]): string | undefined {
  return types.find(
    (t) =>
      t === "crypto_LUKS" ||
      t === "LVM2_member" ||
      t.endsWith("_raid_member") ||
      t === "zfs_member" ||
      t === "bcache",
  );
}

const WHAT: [RegExp, string][] = [
  [/^crypto_LUKS$/, "a LUKS container"],
  [/^LVM2_member$/, "an LVM physical volume"],
  [/^linux_raid_member$/, "a Linux md RAID member"],
  [/_raid_member$/, "a firmware RAID member"],
  [/^zfs_member$/, "a ZFS pool member"],
  [/^bcache$/, "a bcache device"],
];

/** The refusal for a keep layout's root holding one of the signatures above, or undefined. */
export function containerProblem(device: string, types: readonly string[]): string | undefined {
  const sig = containerSignature(types);
  if (!sig) return undefined;
  const what = WHAT.find(([re]) => re.test(sig))![1];
  return `${device} holds ${what} (signature ${sig}); a keep layout reformats only a root partition with a plain filesystem, and formatting this one would destroy what it holds; refusing to format it`;
}
