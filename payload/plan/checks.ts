// Pure refusals that need more than locating a device: mounts of the running
// system, firmware, sizes, /home ownership vs the spec's users, keep-lists.
import type { InstallSpec } from "../spec/schema.ts";
import { firmwareLicenseProblem, unacceptedFirmware } from "../spec/needs.ts";
import type { ProbedDisk, ProbedSystem } from "../probe/types.ts";
import { PlanRefusal, type StagingChoice } from "./types.ts";
import { BIOS_BOOT_GUID, type Located } from "./select.ts";
import { containerProblem } from "./identity.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** Extracted stage3 (~1.2 GB) + kernel + repository (~1.5 GiB) + headroom. */
export const MIN_ROOT_BYTES = 4 * GiB;
/**
 * Fallback only, when the download sizes are unknown (an offline --dry-run
 * with --spec): a 2026 stage3 is 280-520 MB, the snapshot ~60 MB, plus slack.
 */
export const STAGING_BYTES = 700 * MiB;
/** Over the published sizes: .asc, .DIGESTS, pointer, keys, and tar/xz temporaries. */
export const STAGING_MARGIN = 0.1;
export const STAGING_FIXED = 4 * MiB;
/**
 * What the RAM system itself needs beside a RAM staging area. MemAvailable is
 * read after the initramfs is unpacked, so the image's own files are already
 * taken out of it. What remains to cover: node running the payload (~100 MiB
 * RSS), gpg, xz decoding (<= 65 MiB at -9), mkfs/tar/sshd, kernel slab and
 * buffers; page cache of the extraction is reclaimable and needs no room.
 * 384 MiB covers that with a safety factor of ~2 and lets a 1 GiB machine
 * stage a small stage3 in RAM instead of refusing.
 */
export const RAM_HEADROOM = 384 * MiB;

/**
 * The machine must be the one the spec is for. The server picked the spec by
 * the MAC that asked; BOOTIF is that MAC as iPXE saw it, so a spec reaching
 * another machine (a token copied by hand, a stale lease) stops here. A run
 * started by hand (no automagic.url on the command line) may lack BOOTIF.
 */
export function checkBootMac(
  spec: InstallSpec,
  bootMac: string | undefined,
  netbooted = false,
): void {
  const macs = `${spec.host}'s MACs (${spec.macs.join(", ")})`;
  if (bootMac === undefined) {
    if (netbooted)
      throw new PlanRefusal(
        "macs",
        `netbooted by automagic but the kernel command line has no BOOTIF=01-..., so this machine cannot be matched with ${macs}; refusing to touch its disks`,
      );
    return;
  }
  if (!spec.macs.includes(bootMac.toLowerCase()))
    throw new PlanRefusal(
      "macs",
      `this machine netbooted from ${bootMac} (BOOTIF), which is not one of ${macs}; refusing to touch its disks`,
    );
}

export function checkFirmware(spec: InstallSpec, probe: ProbedSystem): void {
  if (spec.firmware !== probe.firmware) {
    throw new PlanRefusal(
      "firmware",
      `the spec says ${spec.firmware} but the machine booted in ${probe.firmware} mode; a bootloader for the wrong mode would not boot`,
    );
  }
}

/** What emerge would refuse later: no binhost to fetch from, firmware whose licence is not accepted. */
export function checkPortage(spec: InstallSpec): void {
  if (spec.portage.binhost && !spec.portage.binhostUrl)
    throw new PlanRefusal(
      "portage.binhostUrl",
      "binhost is on but the spec names no binhost URL (the server fills it in; a --spec file must say it)",
    );
  const [k] = unacceptedFirmware(spec.kernel, spec.portage.license);
  if (k) throw new PlanRefusal("portage.license", firmwareLicenseProblem(k));
}

/**
 * The running system must not have anything mounted (or swapped) on the disk
 * we pave, but for the partitions in `allowed` (layout ab run from a slot:
 * that slot, /home, swap and the shared boot partition).
 */
export function checkNotMounted(disk: ProbedDisk, allowed: readonly string[] = []): void {
  const mounted = [
    ...disk.mountpoints.map((m) => `${disk.path} at ${m}`),
    ...disk.partitions
      .filter((p) => !allowed.includes(p.path))
      .flatMap((p) => p.mountpoints.map((m) => `${p.path} at ${m}`)),
  ];
  if (mounted.length) {
    throw new PlanRefusal(
      "disk",
      `${disk.path} holds filesystems the running system uses (${mounted.join(", ")}); refusing to pave it`,
    );
  }
}

export function checkHomeOwners(spec: InstallSpec, probe: ProbedSystem): void {
  const entries = probe.home?.entries;
  if (!entries)
    throw new PlanRefusal("home", "the top level of the /home filesystem could not be read");
  spec.users.forEach((u, i) => {
    const home = u.home ?? (u.name === "root" ? "/root" : `/home/${u.name}`);
    const m = /^\/home\/([^/]+)$/.exec(home);
    if (!m) return;
    const e = entries.find((x) => x.name === m[1] && x.isDir);
    if (!e) return; // a new user: the directory is created in phase 2
    if (e.uid !== u.uid || e.gid !== u.gid) {
      throw new PlanRefusal(
        `users[${i}]`,
        `${home} on ${probe.home!.device} is owned by ${e.uid}:${e.gid} but the spec gives '${u.name}' ${u.uid}:${u.gid}; fix the spec (or chown /home) so the user keeps their files`,
      );
    }
  });
}

export function checkKeepList(
  spec: InstallSpec,
  probe: ProbedSystem,
  oldRootDevice: string | undefined,
): void {
  const wantsOld = spec.users.some((u) => u.password === "keep") || spec.keepSshHostKeys;
  if (!wantsOld) return;
  const old = probe.oldRoot;
  const noOs = !oldRootDevice || !old || old.device !== oldRootDevice || !old.hasOs;
  spec.users.forEach((u, i) => {
    if (u.password !== "keep") return;
    if (noOs)
      throw new PlanRefusal(
        `users[${i}].password`,
        `'keep' for '${u.name}' but there is no old root to read it from (${oldRootDevice ?? "blank disk"})`,
      );
    const a = old!.accounts.find((x) => x.name === u.name);
    if (!a?.hasShadow)
      throw new PlanRefusal(
        `users[${i}].password`,
        `'keep' for '${u.name}' but the old root on ${old!.device} has no password hash for that user`,
      );
  });
  if (spec.keepSshHostKeys) {
    if (noOs)
      throw new PlanRefusal(
        "keepSshHostKeys",
        `true but there is no old root to read keys from (${oldRootDevice ?? "blank disk"})`,
      );
    if (old!.sshHostKeys.length === 0)
      throw new PlanRefusal(
        "keepSshHostKeys",
        `true but the old root on ${old!.device} has no /etc/ssh/ssh_host_*_key`,
      );
  }
}

/** Bytes the staging area must hold, and how that number was arrived at. */
export function stagingNeed(probe: ProbedSystem): { bytes: number; how: string } {
  const d = probe.downloads;
  if (!d) {
    const why = probe.downloadsUnknown ? ` (${probe.downloadsUnknown})` : "";
    return { bytes: STAGING_BYTES, how: `download sizes unknown${why}: the fixed estimate` };
  }
  const bytes =
    Math.ceil((d.stage3Bytes + d.snapshotBytes + (d.sysimg?.bytes ?? 0)) * (1 + STAGING_MARGIN)) +
    STAGING_FIXED;
  if (d.sysimg)
    return {
      bytes,
      how: `system image ${d.sysimg.name} ${size(d.sysimg.bytes, Math.ceil)} from the server, +${STAGING_MARGIN * 100}% +${size(STAGING_FIXED)}`,
    };
  return {
    bytes,
    how: `stage3 ${size(d.stage3Bytes, Math.ceil)} + snapshot ${size(d.snapshotBytes, Math.ceil)} from the mirror, +${STAGING_MARGIN * 100}% +${size(STAGING_FIXED)}`,
  };
}

/** MiB below 10 GiB (staging sizes are read in MiB), GiB above; `round` errs to the safe side. */
function size(b: number, round: (x: number) => number = Math.floor): string {
  return b < 10 * GiB ? `${round(b / MiB)} MiB` : `${(b / GiB).toFixed(1)} GiB`;
}

/** RAM when it holds the downloads with room to spare; else the /home filesystem; else refuse. */
export function chooseStaging(probe: ProbedSystem, stateDir: string): StagingChoice {
  const need = stagingNeed(probe);
  const needs = `${size(need.bytes, Math.ceil)} downloads + ${size(RAM_HEADROOM)} headroom`;
  if (probe.availRamBytes >= need.bytes + RAM_HEADROOM) {
    return {
      where: "ram",
      dir: `${stateDir}/staging`,
      reason: `RAM: ${size(probe.availRamBytes)} available >= ${needs} (${need.how})`,
    };
  }
  const free = probe.home?.freeBytes ?? 0;
  if (free >= need.bytes) {
    return {
      where: "home",
      dir: `${stateDir}/home/.automagic-staging`,
      reason: `/home: ${size(probe.availRamBytes)} RAM available < ${needs} (${need.how}); /home has ${size(free)} free (removed after extraction)`,
    };
  }
  throw new PlanRefusal(
    "staging",
    `nowhere to hold the downloads before paving: ${size(probe.availRamBytes)} RAM available (${size(RAM_HEADROOM)} of it kept for the RAM system), ${size(free)} free on /home; need ${size(need.bytes, Math.ceil)} (${need.how})`,
  );
}

/**
 * A root partition of a kept table (keep's root, ab's slot to write): on the
 * selected disk, no LUKS/LVM/RAID on it, a PARTUUID to tell it apart right
 * before it is formatted (returned), room for a Gentoo root.
 */
export function checkRootPartition(loc: Located, disk: ProbedDisk, field: string): string {
  const { part } = loc;
  if (loc.disk.path !== disk.path)
    throw new PlanRefusal(field, `${part.path} is not on the selected disk ${disk.path}`);
  // Before the size: what is on it matters more than whether a root would fit.
  const inside = containerProblem(part.path, part.fstype ? [part.fstype] : []);
  if (inside) throw new PlanRefusal(field, inside);
  if (!part.partuuid)
    throw new PlanRefusal(
      field,
      `${part.path} has no PARTUUID (blkid read none), so it could not be told apart from another partition right before it is formatted`,
    );
  if (part.sizeBytes < MIN_ROOT_BYTES) {
    throw new PlanRefusal(
      field,
      `${part.path} has ${part.sizeBytes} bytes, less than the ${MIN_ROOT_BYTES} a Gentoo root needs`,
    );
  }
  return part.partuuid;
}

/** BIOS from a kept GPT table: grub-install embeds core.img in a BIOS boot partition. */
export function checkBiosBoot(disk: ProbedDisk): void {
  if (disk.pttype === "gpt" && !disk.partitions.some((p) => p.parttype === BIOS_BOOT_GUID))
    throw new PlanRefusal(
      "layout",
      `BIOS boot from GPT disk ${disk.path} needs a BIOS boot partition (type ${BIOS_BOOT_GUID}) for grub-install; there is none`,
    );
}
