// The install as data. planInstall() returns Step[]; --dry-run prints them;
// the executor walks them, one handler per action kind (payload/steps/).
import type { DiskIdentity, PartIdentity } from "./identity.ts";

/** A file the plan already knows the full content of (pure renderers). */
export interface PlannedFile {
  path: string; // inside the target root
  content: string;
  mode: number;
}

export type Action =
  | {
      kind: "fetch-verify";
      mirror: string;
      variant: string;
      trustedKeys: string[];
      staging: StagingChoice;
    }
  | {
      kind: "read-keep-list";
      device: string;
      fstype: string;
      /** Mounted by the running system there (layout ab run from a slot): read it in place. */
      mountedAt?: string;
      passwords: string[];
      sshHostKeys: boolean;
    }
  | {
      kind: "partition";
      disk: string;
      /** What `disk` must still be right before wipefs/sgdisk (plan/identity.ts). */
      expect: DiskIdentity;
      firmware: "bios" | "uefi";
      partitions: {
        number: number;
        role: "bios_grub" | "esp" | "swap" | "root" | "boot";
        /** GPT partition name (PARTLABEL); absent: the role. */
        name?: string;
        sizeBytes?: number;
      }[];
    }
  | {
      kind: "format";
      device: string;
      fs: string;
      label?: string;
      /** What `device` must still be right before wipefs/mkfs (plan/identity.ts). */
      expect: PartIdentity;
      /** A partition of a kept table: refuse it if it holds LUKS, LVM or RAID. */
      refuseContainers?: boolean;
    }
  | { kind: "mount"; device: string; target: string; fs: string; options?: string }
  | { kind: "extract-stage3"; target: string }
  | ({ kind: "fetch-sysimg"; staging: StagingChoice } & DeploySource)
  | { kind: "extract-sysimg"; target: string }
  | {
      kind: "portage";
      target: string;
      files: PlannedFile[];
      binhost: boolean;
      /** false: keep the repository already in the root (deploy). */
      snapshot?: boolean;
    }
  | { kind: "chroot-mounts"; target: string; efivarfs: boolean }
  | { kind: "write-files"; target: string; files: PlannedFile[] }
  | { kind: "chroot-run"; target: string; commands: string[][] }
  | {
      kind: "fstab";
      target: string;
      root: { device: string; fs: string };
      esp?: { device: string };
      /** Layout ab on BIOS: the shared automagic-boot partition, mounted at /boot/automagic. */
      abBoot?: { device: string; fs: "ext4" | "vfat" };
      home: { device: string; fs: string; options: string };
      swap?: { device: string };
    }
  | { kind: "accounts"; target: string }
  | { kind: "ssh"; target: string; keepHostKeys: boolean; init: "openrc" | "systemd" }
  | { kind: "machine-id"; target: string; init: "openrc" | "systemd" }
  | { kind: "emerge"; target: string; atoms: string[] }
  | { kind: "kernel"; target: string; package: string; cmdline: string; rootDevice: string }
  | {
      kind: "bootloader";
      target: string;
      firmware: "bios" | "uefi";
      disk: string;
      rootDevice: string;
      espDevice?: string;
      /** Layout ab: the slot written and the shared partition GRUB and its boot state live on. */
      ab?: {
        slot: "a" | "b";
        shared: string;
        sharedFs: "vfat" | "ext4";
        tries: number;
        first: boolean;
      };
    }
  | { kind: "first-boot"; target: string }
  | { kind: "rotate-token"; target: string }
  | { kind: "unmount"; target: string };

export type ActionKind = Action["kind"];

export interface StagingChoice {
  where: "ram" | "home";
  /** Directory on the RAM system; for "home" it is on the /home filesystem, mounted by fetch. */
  dir: string;
  reason: string;
}

export interface Step {
  /** Stable name used in events and reports: "format-root", "kernel". */
  id: string;
  /** Group for the tree: prepare, pave, install, configure, boot, finish. */
  group: "prepare" | "pave" | "install" | "configure" | "boot" | "finish";
  title: string;
  /** The device the step acts on, for failure reports. */
  device?: string;
  /** True when the step destroys data; none may come before every "prepare" step. */
  destructive: boolean;
  /** Lines shown under the step in the tree. */
  detail: string[];
  action: Action;
}

/** Why a plan cannot be made; `field` is the spec path or probe item at fault. */
export class PlanRefusal extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = "PlanRefusal";
  }
}

/**
 * Where a deploy's image comes from (install.ts picks it from the probe's
 * /home list and the server's, shared/sysimgs.ts pickImage): the machine's
 * own /home first, the server's copy when /home has none or its copy fails
 * its sha256.
 */
export interface DeploySource {
  image: string;
  home?: { device: string; fstype?: string; sha256: string; bytes: number };
  server?: { sha256: string; bytes: number };
}
