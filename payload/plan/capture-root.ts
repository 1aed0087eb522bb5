// Pure: which partition `capture` archives. The root automagic installed on
// the host's system disk, found by the label every install gives it
// (layout ab: the label of the slot ab_default names, gentoo-a or gentoo-b);
// none or more than one is a refusal naming the disk, never a guess.
import type { InstallSpec } from "../spec/schema.ts";
import type { ProbedPartition, ProbedSystem } from "../probe/types.ts";
import { ESP_GUID } from "../discover/classify.ts";
import { abState, slotLabel } from "../render/grub-ab.ts";
import { ROOT_FS_LABEL } from "./groups/disk.ts";
import { describeDisk, findPartition, selectDisk } from "./select.ts";
import { PlanRefusal } from "./types.ts";

/** The filesystem label of automagic's shared boot partition on BIOS (layout ab). */
const AB_BOOT_FS_LABEL = "automagic-boot";

export function findCaptureRoot(
  spec: InstallSpec,
  probe: ProbedSystem,
  label = ROOT_FS_LABEL,
): ProbedPartition {
  const disk = selectDisk(spec.disk, probe);
  const hits = disk.partitions.filter((p) => p.label === label);
  if (hits.length === 0)
    throw new PlanRefusal(
      "disk",
      `no partition labelled ${label} on ${describeDisk(disk)}: nothing automagic installed to capture`,
    );
  if (hits.length > 1)
    throw new PlanRefusal(
      "disk",
      `${hits.length} partitions labelled ${label} on ${disk.path} (${hits.map((p) => p.path).join(", ")}): which one is the system is not clear`,
    );
  const root = hits[0]!;
  if (root.mountpoints.length)
    throw new PlanRefusal("disk", `${root.path} is mounted at ${root.mountpoints.join(", ")}`);
  return root;
}

/**
 * Layout ab: the shared partition whose grub/grubenv says which slot is the
 * system (the layout's boot/esp when it names one; else automagic-boot on
 * BIOS, the ESP on UEFI, on the selected disk).
 */
export function findAbShared(spec: InstallSpec, probe: ProbedSystem): ProbedPartition {
  const uefi = spec.firmware === "uefi";
  const field = uefi ? "esp" : "boot";
  const ref = spec.layout.mode === "ab" ? spec.layout[field] : undefined;
  if (ref) return findPartition(ref, probe, `layout.${field}`).part;
  const disk = selectDisk(spec.disk, probe);
  const what = uefi ? "EFI system partition" : `partition labelled ${AB_BOOT_FS_LABEL}`;
  const hits = disk.partitions.filter((p) =>
    uefi ? p.parttype === ESP_GUID : p.label === AB_BOOT_FS_LABEL,
  );
  if (hits.length !== 1)
    throw new PlanRefusal(
      "disk",
      `${hits.length ? hits.length : "no"} ${what}${hits.length > 1 ? "s" : ""} on ${describeDisk(disk)}: the A/B boot state cannot be read`,
    );
  return hits[0]!;
}

/** Layout ab: the label of the slot the boot state (grubenv) names as the default. */
export function abCaptureLabel(env: Record<string, string> | undefined, shared: string): string {
  const slot = abState(env ?? {}).default;
  if (!slot)
    throw new PlanRefusal(
      "layout",
      `${shared} has no ab_default in grub/grubenv: which slot holds the system is not known`,
    );
  return slotLabel(slot);
}
