// What the probe saw, as plain data. planInstall() decides from this object
// alone, so every refusal can be tested with a JSON fixture
// (test/fixtures/probe/*.json) instead of a machine.
import type { SysimgMeta } from "../spec/schema.ts";

export interface ProbedPartition {
  path: string; // /dev/sda2, /dev/nvme0n1p2, /dev/loop3p2
  name: string;
  sizeBytes: number;
  /** Partition number on its disk (1-based), when known. */
  number?: number;
  fstype?: string;
  uuid?: string;
  partuuid?: string;
  label?: string;
  partlabel?: string;
  /** GPT type GUID or MBR type (lower-case). */
  parttype?: string;
  /** Where the RUNNING system has it mounted ("[SWAP]" for active swap). */
  mountpoints: string[];
}

export interface ProbedDisk {
  path: string; // /dev/sda
  name: string;
  type: string; // lsblk TYPE: disk, loop
  sizeBytes: number;
  serial?: string;
  wwn?: string;
  model?: string;
  /** Loop devices: the image file behind it (/sys/block/loopN/loop/backing_file). */
  backingFile?: string;
  /** /dev/disk/by-id/* links that point at this disk. */
  byId: string[];
  /** Partition table type: gpt, dos, or absent for a blank disk. */
  pttype?: string;
  /** Mountpoints of the whole-disk device itself (a filesystem without a table). */
  mountpoints: string[];
  /** A filesystem made on the whole disk (no partition table): mkfs /dev/sdb. */
  fstype?: string;
  uuid?: string;
  label?: string;
  partitions: ProbedPartition[];
}

/** A top-level entry of the /home filesystem and its owner. */
export interface HomeEntry {
  name: string;
  uid: number;
  gid: number;
  isDir: boolean;
}

/** An account line from the old root, without its secret. */
export interface OldAccount {
  name: string;
  uid: number;
  gid: number;
  /** The old shadow has a usable entry for this name. */
  hasShadow: boolean;
}

/** What was found on the partition that will be paved, read-only. */
export interface OldRootFacts {
  device: string;
  /** The filesystem held an /etc/passwd: an OS to keep things from. */
  hasOs: boolean;
  accounts: OldAccount[];
  /** File names under /etc/ssh matching ssh_host_*_key. */
  sshHostKeys: string[];
}

/** Sizes of what fetch-verify will download, learned before planning (probe/downloads.ts). */
export interface DownloadSizes {
  /** From the verified latest-stage3 pointer. */
  stage3Bytes: number;
  /** The pointer's path, e.g. "20260101T000000Z/stage3-amd64-openrc-20260101T000000Z.tar.xz". */
  stage3Path?: string;
  /** Content-Length of snapshots/gentoo-latest.tar.xz. */
  snapshotBytes: number;
  /** deploy: the system image that replaces stage3 and snapshot (both 0 then). */
  sysimg?: { name: string; bytes: number };
}

export interface ProbedSystem {
  firmware: "bios" | "uefi";
  ramBytes: number;
  /** MemAvailable: what a RAM staging area may use. */
  availRamBytes: number;
  /** The NIC the firmware booted from (BOOTIF=01-aa-bb-...), if known. */
  bootNic?: { mac: string; name?: string };
  /** The probe was restricted to these devices (--devices). */
  restrictedTo?: string[];
  disks: ProbedDisk[];
  /** Top level of the /home filesystem the spec names, if it was found and readable. */
  home?: {
    device: string;
    fstype?: string;
    entries: HomeEntry[];
    freeBytes?: number;
    /** The machine's own system images (/home/data/sysimgs, payload/sysimg/home.ts). */
    sysimgs?: SysimgMeta[];
  };
  /**
   * Layout ab adopting slots: the shared partition's boot state
   * (grub/grubenv, read-only). `env` absent: no file (no state yet).
   */
  ab?: { shared: string; env?: Record<string, string>; error?: string };
  /** The old root (layout keep), if it was found and readable. */
  oldRoot?: OldRootFacts;
  /** Download sizes; absent when the mirror was not asked (offline --dry-run). */
  downloads?: DownloadSizes;
  /** Why `downloads` is absent, for the plan's staging reason. */
  downloadsUnknown?: string;
}
