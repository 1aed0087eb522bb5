// Pure: which devices get paved, per layout mode. `keep` reformats only the
// root partition of the existing table; `create` writes a fresh GPT; `ab`
// writes one of two root slots (./ab.ts).
import type { InstallSpec } from "../spec/schema.ts";
import type { ProbedDisk, ProbedSystem } from "../probe/types.ts";
import { partitionPath } from "../probe/lsblk.ts";
import { findPartition, selectDisk, type Located } from "./select.ts";
import { homeMounted, resolveAb, type AbDevices } from "./ab.ts";
import { MIN_ROOT_BYTES, checkBiosBoot, checkNotMounted, checkRootPartition } from "./checks.ts";
import { diskIdentity, type PartIdentity } from "./identity.ts";
import { PlanRefusal, type Action } from "./types.ts";

const MiB = 1024 ** 2;

export interface Devices {
  disk: ProbedDisk;
  root: string;
  esp?: string;
  swap?: string;
  home: string;
  homeFs: string;
  /** Partition table to write, for `create`. */
  partition?: Extract<Action, { kind: "partition" }>;
  /** Whether the ESP / swap are fresh and must be formatted. */
  formatEsp: boolean;
  formatSwap: boolean;
  /** The old root partition (keep layout): where the keep-list is read. */
  oldRoot?: string;
  /** What each partition the plan formats must still be when it is formatted, by path. */
  ids: Record<string, PartIdentity>;
  /** Layout ab: the slot written (`root` is its partition) and the shared boot partition. */
  ab?: AbDevices;
}

export function resolveDevices(spec: InstallSpec, probe: ProbedSystem): Devices {
  const disk = selectDisk(spec.disk, probe);
  if (spec.layout.mode === "ab") {
    // Which partitions may be mounted depends on the slot the system runs from.
    const home = findHome(spec, probe);
    return {
      disk,
      home: home.part.path,
      homeFs: spec.home.fs,
      ...resolveAb(spec, probe, disk, home),
    };
  }
  checkNotMounted(disk);
  const home = findHome(spec, probe);
  if (home.part.mountpoints.length) throw homeMounted(home);
  const base = { disk, home: home.part.path, homeFs: spec.home.fs };
  const layout = spec.layout;
  if (layout.mode === "create") {
    if ((layout as { wipe?: unknown }).wipe !== true)
      throw new PlanRefusal("layout.wipe", `a create layout on ${disk.path} needs wipe: true`);
    if (home.disk.path === disk.path) {
      throw new PlanRefusal(
        "layout",
        `/home (${home.part.path}) is on ${disk.path}, which a create layout wipes entirely`,
      );
    }
    return { ...base, ...createTable(spec, disk) };
  }
  const root = findPartition(layout.root, probe, "layout.root");
  const where = (f: string, p: string) => {
    if (p === home.part.path)
      throw new PlanRefusal(f, `${p} is the /home partition; /home would be inside what is paved`);
  };
  where("layout.root", root.part.path);
  const partuuid = checkRootPartition(root, disk, "layout.root");
  let esp: string | undefined;
  if (spec.firmware === "uefi") {
    if (!layout.esp)
      throw new PlanRefusal("layout.esp", "UEFI with a keep layout needs the existing ESP named");
    esp = findPartition(layout.esp, probe, "layout.esp").part.path;
    where("layout.esp", esp);
  } else checkBiosBoot(disk);
  let swap: string | undefined;
  if (layout.swap) {
    swap = findPartition(layout.swap, probe, "layout.swap").part.path;
    where("layout.swap", swap);
  }
  return {
    ...base,
    root: root.part.path,
    ...(esp ? { esp } : {}),
    ...(swap ? { swap } : {}),
    formatEsp: false,
    formatSwap: false,
    oldRoot: root.part.path,
    ids: { [root.part.path]: { partuuid } },
  };
}

function findHome(spec: InstallSpec, probe: ProbedSystem): Located {
  const home = findPartition(spec.home.ref, probe, "home.ref", { wholeDisk: true });
  if (home.part.fstype && home.part.fstype !== spec.home.fs) {
    throw new PlanRefusal(
      "home.fs",
      `the spec says ${spec.home.fs} but ${home.part.path} holds ${home.part.fstype}`,
    );
  }
  return home;
}

function createTable(spec: InstallSpec, disk: ProbedDisk) {
  const layout = spec.layout;
  if (layout.mode !== "create") throw new Error("unreachable");
  const parts: Extract<Action, { kind: "partition" }>["partitions"] = [];
  let used = 2 * MiB; // GPT headers at both ends, 1 MiB alignment
  if (spec.firmware === "uefi") parts.push({ number: 1, role: "esp", sizeBytes: layout.espBytes });
  else parts.push({ number: 1, role: "bios_grub", sizeBytes: MiB });
  used += parts[0]!.sizeBytes!;
  if (layout.swapBytes > 0) {
    parts.push({ number: 2, role: "swap", sizeBytes: layout.swapBytes });
    used += layout.swapBytes;
  }
  const rootNo = parts.length + 1;
  const rootBytes = layout.rootBytes ?? disk.sizeBytes - used;
  if (rootBytes < MIN_ROOT_BYTES || used + rootBytes > disk.sizeBytes) {
    throw new PlanRefusal(
      "disk",
      `${disk.path} has ${disk.sizeBytes} bytes: too small for the layout (${used} bytes of ESP/swap/tables + a root of at least ${Math.max(MIN_ROOT_BYTES, layout.rootBytes ?? 0)})`,
    );
  }
  parts.push({
    number: rootNo,
    role: "root",
    ...(layout.rootBytes ? { sizeBytes: layout.rootBytes } : {}),
  });
  const esp = spec.firmware === "uefi" ? partitionPath(disk.path, 1) : undefined;
  const swap = layout.swapBytes > 0 ? partitionPath(disk.path, 2) : undefined;
  const expect = diskIdentity(disk);
  const ids: Record<string, PartIdentity> = {};
  for (const p of parts)
    ids[partitionPath(disk.path, p.number)] = { disk: expect, number: p.number };
  return {
    ids,
    root: partitionPath(disk.path, rootNo),
    ...(esp ? { esp } : {}),
    ...(swap ? { swap } : {}),
    formatEsp: esp !== undefined,
    formatSwap: swap !== undefined,
    partition: {
      kind: "partition" as const,
      disk: disk.path,
      expect,
      firmware: spec.firmware,
      partitions: parts,
    },
  };
}
