// Pure refusals that need more than locating a device: mounts of the running
// system, firmware, sizes, /home ownership vs the spec's users, keep-lists.
import type { InstallSpec } from "../spec/schema.ts";
import type { ProbedDisk, ProbedSystem } from "../probe/types.ts";
import { PlanRefusal, type StagingChoice } from "./types.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** Extracted stage3 (~1.2 GB) + kernel + repository (~1.5 GiB) + headroom. */
export const MIN_ROOT_BYTES = 4 * GiB;
/** A 2026 stage3 is 280-520 MB; the snapshot ~60 MB; signatures and slack. */
export const STAGING_BYTES = 700 * MiB;
/** What the RAM system itself needs beside a RAM staging area. */
export const RAM_HEADROOM = 1 * GiB;

export function checkFirmware(spec: InstallSpec, probe: ProbedSystem): void {
  if (spec.firmware !== probe.firmware) {
    throw new PlanRefusal(
      "firmware",
      `the spec says ${spec.firmware} but the machine booted in ${probe.firmware} mode; a bootloader for the wrong mode would not boot`,
    );
  }
}

/** The running system must not have anything mounted (or swapped) on the disk we pave. */
export function checkNotMounted(disk: ProbedDisk): void {
  const mounted = [
    ...disk.mountpoints.map((m) => `${disk.path} at ${m}`),
    ...disk.partitions.flatMap((p) => p.mountpoints.map((m) => `${p.path} at ${m}`)),
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

/** RAM when it holds the downloads with room to spare; else the /home filesystem; else refuse. */
export function chooseStaging(probe: ProbedSystem, stateDir: string): StagingChoice {
  const fmt = (b: number) => `${(b / GiB).toFixed(1)} GiB`;
  if (probe.availRamBytes >= STAGING_BYTES + RAM_HEADROOM) {
    return {
      where: "ram",
      dir: `${stateDir}/staging`,
      reason: `RAM: ${fmt(probe.availRamBytes)} available >= ${fmt(STAGING_BYTES)} downloads + ${fmt(RAM_HEADROOM)} headroom`,
    };
  }
  const free = probe.home?.freeBytes ?? 0;
  if (free >= STAGING_BYTES) {
    return {
      where: "home",
      dir: `${stateDir}/home/.automagic-staging`,
      reason: `/home: only ${fmt(probe.availRamBytes)} RAM available, /home has ${fmt(free)} free (removed after extraction)`,
    };
  }
  throw new PlanRefusal(
    "staging",
    `nowhere to hold the downloads before paving: ${fmt(probe.availRamBytes)} RAM available, ${fmt(free)} free on /home, need ${fmt(STAGING_BYTES)}`,
  );
}
