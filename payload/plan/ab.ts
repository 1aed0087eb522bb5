// Pure: layout `ab` (docs/ab-design: two root slots). Which slot an install
// writes, and the devices of both shapes: `wipe` creates a fresh A/B table,
// `slots` adopts an existing one. Only the written slot, and the shared boot
// partition when the table is created, are ever formatted.
import { AB_CREATE_DEFAULTS, type AbLayout, type InstallSpec } from "../spec/schema.ts";
import type { ProbedDisk, ProbedPartition, ProbedSystem } from "../probe/types.ts";
import { partitionPath } from "../probe/lsblk.ts";
import { abState, type Slot } from "../render/grub-ab.ts";
import { findPartition, type Located } from "./select.ts";
import { MIN_ROOT_BYTES, checkBiosBoot, checkNotMounted, checkRootPartition } from "./checks.ts";
import { diskIdentity, type PartIdentity } from "./identity.ts";
import { PlanRefusal, type Action } from "./types.ts";

const MiB = 1024 ** 2;

/** GPT partition names (PARTLABEL) of an A/B table. */
export const slotPartlabel = (slot: Slot): string => `automagic-${slot}`;
export const AB_BOOT_LABEL = "automagic-boot";

export const otherSlot = (s: Slot): Slot => (s === "a" ? "b" : "a");

export interface SlotChoice {
  /** The slot this install writes. */
  slot: Slot;
  /** The slot left alone (the running or the default one). */
  other: Slot;
  /** No ab_default yet: the written slot becomes the default at once, without a trial. */
  first: boolean;
  /** The slot the running system booted from, if it runs from one. */
  running?: Slot;
  /** One line for the plan: why this slot. */
  why: string;
}

/**
 * Which slot is written (ab-design.md): running from slot X, the other one;
 * from a RAM system, the one that is not ab_default (none yet: a). Refused
 * when the slot to write is mounted anywhere, and when the system runs from a
 * slot still under trial (the other slot is the confirmed one: writing it
 * would leave no known-good system).
 */
export function chooseSlot(
  slots: Record<Slot, Pick<ProbedPartition, "path" | "mountpoints">>,
  env: Record<string, string> | undefined,
): SlotChoice {
  const state = abState(env ?? {});
  const first = state.default === undefined;
  const running = (["a", "b"] as const).find((s) => slots[s].mountpoints.includes("/"));
  let slot: Slot;
  let why: string;
  if (running) {
    if (state.trial === running)
      throw new PlanRefusal(
        "layout.slots",
        `the running system (slot ${running}, ${slots[running].path}) is on trial and not confirmed yet; writing slot ${otherSlot(running)} would overwrite the confirmed system`,
      );
    slot = otherSlot(running);
    why = `running from slot ${running} (${slots[running].path} at /)`;
  } else if (state.default) {
    slot = otherSlot(state.default);
    why = `slot ${state.default} is the default (ab_default)`;
  } else {
    slot = "a";
    why = "first install (no ab_default in grubenv)";
  }
  const mounted = slots[slot].mountpoints;
  if (mounted.length)
    throw new PlanRefusal(
      `layout.slots.${slot}`,
      `slot ${slot} (${slots[slot].path}) is to be written but the running system has it mounted at ${mounted.join(", ")}; unmount it first`,
    );
  return { slot, other: otherSlot(slot), first, ...(running ? { running } : {}), why };
}

/**
 * The slot whose root the keep-list is read from: the system being replaced,
 * i.e. the slot left alone; on a first install into a table whose other slot
 * is blank, the old OS in the slot about to be written (read before it is
 * formatted, as `keep` does). None when neither holds a filesystem.
 */
export function keepListSlot(
  slots: Record<Slot, Pick<ProbedPartition, "fstype">>,
  choice: Pick<SlotChoice, "slot" | "other" | "first">,
): Slot | undefined {
  if (slots[choice.other].fstype) return choice.other;
  if (choice.first && slots[choice.slot].fstype) return choice.slot;
  return undefined;
}

/** What layout.ts's Devices carries under `ab`. */
export interface AbDevices {
  slot: Slot;
  other: Slot;
  /** The shared partition (automagic-boot on BIOS, the ESP on UEFI). */
  boot: string;
  bootFs: "vfat" | "ext4";
  /** Created with the table: formatted before the slot. */
  formatBoot: boolean;
  tries: number;
  first: boolean;
  why: string;
}

/** The Devices fields layout.ts returns, without the disk and /home it finds itself. */
export interface AbResolved {
  root: string;
  esp?: string;
  swap?: string;
  partition?: Extract<Action, { kind: "partition" }>;
  formatEsp: boolean;
  formatSwap: boolean;
  oldRoot?: string;
  ids: Record<string, PartIdentity>;
  ab: AbDevices;
}

type Layout = AbLayout;

export function resolveAb(
  spec: InstallSpec,
  probe: ProbedSystem,
  disk: ProbedDisk,
  home: Located,
): AbResolved {
  const layout = spec.layout as Layout;
  if (layout.wipe) {
    checkNotMounted(disk);
    if (home.part.mountpoints.length) throw homeMounted(home);
    if (home.disk.path === disk.path)
      throw new PlanRefusal(
        "layout",
        `/home (${home.part.path}) is on ${disk.path}, which layout ab with wipe partitions anew`,
      );
    return abTable(spec, layout, disk);
  }
  return adoptAb(spec, layout, probe, disk, home);
}

export function homeMounted(home: Located): PlanRefusal {
  return new PlanRefusal(
    "home.ref",
    `${home.part.path} is mounted by the running system at ${home.part.mountpoints.join(", ")}; unmount it first`,
  );
}

/**
 * A fresh A/B table: BIOS 1 bios_grub, 2 automagic-boot; UEFI 1 ESP; then
 * swap if asked, slot a, slot b (each slotBytes, or half of what is left).
 * A new table holds no system: slot a is written, as a first install.
 */
function abTable(spec: InstallSpec, layout: Layout, disk: ProbedDisk): AbResolved {
  const uefi = spec.firmware === "uefi";
  const swapBytes = layout.swapBytes ?? AB_CREATE_DEFAULTS.swapBytes;
  const parts: Extract<Action, { kind: "partition" }>["partitions"] = [];
  if (uefi)
    parts.push({
      number: 1,
      role: "esp",
      sizeBytes: layout.espBytes ?? AB_CREATE_DEFAULTS.espBytes,
    });
  else {
    parts.push({ number: 1, role: "bios_grub", sizeBytes: MiB });
    const bootBytes = layout.bootBytes ?? AB_CREATE_DEFAULTS.bootBytes;
    parts.push({ number: 2, role: "boot", name: AB_BOOT_LABEL, sizeBytes: bootBytes });
  }
  if (swapBytes > 0) parts.push({ number: parts.length + 1, role: "swap", sizeBytes: swapBytes });
  const used = 2 * MiB + parts.reduce((n, p) => n + p.sizeBytes!, 0); // GPT at both ends, alignment
  const half = Math.floor((disk.sizeBytes - used) / 2 / MiB) * MiB;
  const slotBytes = layout.slotBytes ?? half;
  if (slotBytes < MIN_ROOT_BYTES || used + 2 * slotBytes > disk.sizeBytes)
    throw new PlanRefusal(
      "disk",
      `${disk.path} has ${disk.sizeBytes} bytes: too small for layout ab (${used} bytes of boot/swap/tables + two slots of at least ${Math.max(MIN_ROOT_BYTES, layout.slotBytes ?? 0)} each)`,
    );
  const numberOf = { a: parts.length + 1, b: parts.length + 2 };
  for (const s of ["a", "b"] as const)
    parts.push({ number: numberOf[s], role: "root", name: slotPartlabel(s), sizeBytes: slotBytes });
  const expect = diskIdentity(disk);
  const ids: Record<string, PartIdentity> = {};
  for (const p of parts)
    ids[partitionPath(disk.path, p.number)] = { disk: expect, number: p.number };
  const path = (role: string) => {
    const p = parts.find((x) => x.role === role);
    return p ? partitionPath(disk.path, p.number) : undefined;
  };
  const boot = path(uefi ? "esp" : "boot")!;
  const swap = path("swap");
  return {
    root: partitionPath(disk.path, numberOf.a),
    ...(uefi ? { esp: boot } : {}),
    ...(swap ? { swap } : {}),
    partition: {
      kind: "partition",
      disk: disk.path,
      expect,
      firmware: spec.firmware,
      partitions: parts,
    },
    formatEsp: uefi,
    formatSwap: swap !== undefined,
    ids,
    ab: {
      slot: "a",
      other: "b",
      boot,
      bootFs: uefi ? "vfat" : "ext4",
      formatBoot: true,
      tries: layout.tries,
      first: true,
      why: "a new A/B table: first install",
    },
  };
}

/** An existing A/B table: both slots and the shared partition named; /home may be on the disk. */
function adoptAb(
  spec: InstallSpec,
  layout: Layout,
  probe: ProbedSystem,
  disk: ProbedDisk,
  home: Located,
): AbResolved {
  const notHome = (field: string, p: Located) => {
    if (p.part.path === home.part.path)
      throw new PlanRefusal(field, `${p.part.path} is the /home partition`);
    return p;
  };
  const slotsRef = layout.slots!;
  const slots = {
    a: notHome("layout.slots.a", findPartition(slotsRef.a, probe, "layout.slots.a")),
    b: notHome("layout.slots.b", findPartition(slotsRef.b, probe, "layout.slots.b")),
  };
  if (slots.a.part.path === slots.b.part.path)
    throw new PlanRefusal("layout.slots.b", `${slots.b.part.path} is slot a too`);
  const uefi = spec.firmware === "uefi";
  const sharedField = uefi ? "esp" : "boot";
  const sharedRef = uefi ? layout.esp : layout.boot;
  if (!sharedRef)
    throw new PlanRefusal(
      `layout.${sharedField}`,
      `${spec.firmware} with layout ab adopting slots needs the shared partition named (${uefi ? "the ESP" : "automagic-boot"}: GRUB and its boot state live there)`,
    );
  const shared = notHome(
    `layout.${sharedField}`,
    findPartition(sharedRef, probe, `layout.${sharedField}`),
  );
  const bootFs = shared.part.fstype;
  if (bootFs !== "vfat" && bootFs !== "ext4")
    throw new PlanRefusal(
      `layout.${sharedField}`,
      `${shared.part.path} holds ${bootFs ?? "no filesystem"}; the shared partition must be vfat or ext4 (it is never formatted when adopting)`,
    );
  if (!uefi) checkBiosBoot(disk);
  const swap = layout.swap
    ? notHome("layout.swap", findPartition(layout.swap, probe, "layout.swap")).part.path
    : undefined;
  // Unreadable boot state must not read as "first install": that would write slot a blindly.
  if (probe.ab?.error)
    throw new PlanRefusal(
      `layout.${sharedField}`,
      `the boot state on ${shared.part.path} could not be read (${probe.ab.error}), so which slot is the default is unknown`,
    );
  const choice = chooseSlot({ a: slots.a.part, b: slots.b.part }, probe.ab?.env);
  const target = slots[choice.slot];
  // Running from a slot, these may be in use; from a RAM system, nothing on the disk may be.
  const allowed = choice.running
    ? [slots[choice.running].part.path, home.part.path, shared.part.path, ...(swap ? [swap] : [])]
    : [];
  checkNotMounted(disk, allowed);
  if (!choice.running && home.part.mountpoints.length) throw homeMounted(home);
  const partuuid = checkRootPartition(target, disk, `layout.slots.${choice.slot}`);
  const keepFrom = keepListSlot({ a: slots.a.part, b: slots.b.part }, choice);
  const old = keepFrom ? slots[keepFrom].part : undefined;
  return {
    root: target.part.path,
    ...(uefi ? { esp: shared.part.path } : {}),
    ...(swap ? { swap } : {}),
    formatEsp: false,
    formatSwap: false,
    ...(old ? { oldRoot: old.path } : {}),
    ids: { [target.part.path]: { partuuid } },
    ab: {
      slot: choice.slot,
      other: choice.other,
      boot: shared.part.path,
      bootFs,
      formatBoot: false,
      tries: layout.tries,
      first: choice.first,
      why: choice.why,
    },
  };
}
