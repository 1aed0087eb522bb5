// Pure: find the target disk and partitions the spec names. Zero matches or
// more than one is a refusal: the plan never guesses which disk to pave.
import type { DiskSelector, PartRef } from "../spec/schema.ts";
import type { ProbedDisk, ProbedPartition, ProbedSystem } from "../probe/types.ts";
import { PlanRefusal } from "./types.ts";

export function describeDisk(d: ProbedDisk): string {
  const bits = [d.path, `${d.sizeBytes} bytes`];
  if (d.serial) bits.push(`serial ${d.serial}`);
  return bits.join(", ");
}

export function diskMatches(sel: DiskSelector, d: ProbedDisk): boolean {
  if (sel.serial !== undefined && d.serial !== sel.serial) return false;
  if (sel.byId !== undefined && !d.byId.includes(sel.byId)) return false;
  if (sel.wwn !== undefined && normWwn(d.wwn) !== normWwn(sel.wwn)) return false;
  if (sel.minBytes !== undefined && d.sizeBytes < sel.minBytes) return false;
  if (sel.maxBytes !== undefined && d.sizeBytes > sel.maxBytes) return false;
  return true;
}

const normWwn = (w: string | undefined): string | undefined => w?.toLowerCase().replace(/^0x/, "");

export function selectDisk(sel: DiskSelector, probe: ProbedSystem): ProbedDisk {
  const hits = probe.disks.filter((d) => diskMatches(sel, d));
  const seen = probe.disks.map(describeDisk).join("; ") || "none";
  if (hits.length === 0)
    throw new PlanRefusal("disk", `no disk matches ${JSON.stringify(sel)} (disks seen: ${seen})`);
  if (hits.length > 1) {
    throw new PlanRefusal(
      "disk",
      `${hits.length} disks match ${JSON.stringify(sel)}: ${hits.map((d) => d.path).join(", ")}; make the selector unique`,
    );
  }
  return hits[0]!;
}

export function refText(ref: PartRef): string {
  const [k, v] = Object.entries(ref).find(([, x]) => x !== undefined) ?? ["?", "?"];
  return `${k}=${String(v)}`;
}

function partMatches(ref: PartRef, p: ProbedPartition): boolean {
  if (ref.uuid !== undefined) return p.uuid?.toLowerCase() === ref.uuid.toLowerCase();
  if (ref.partuuid !== undefined) return p.partuuid?.toLowerCase() === ref.partuuid.toLowerCase();
  if (ref.label !== undefined) return p.label === ref.label;
  if (ref.partlabel !== undefined) return p.partlabel === ref.partlabel;
  return false;
}

export interface Located {
  disk: ProbedDisk;
  part: ProbedPartition;
}

/**
 * A filesystem on a whole disk (no table) as a partition-like candidate, so
 * /home made with `mkfs /dev/sdb` is found by label/UUID too. It has no
 * PARTUUID/PARTLABEL, and `create` on its disk is refused like any /home disk.
 */
export function wholeDiskFilesystem(disk: ProbedDisk): ProbedPartition | undefined {
  if (disk.pttype !== undefined || disk.partitions.length > 0 || !disk.fstype) return undefined;
  return {
    path: disk.path,
    name: disk.name,
    sizeBytes: disk.sizeBytes,
    fstype: disk.fstype,
    ...(disk.uuid !== undefined ? { uuid: disk.uuid } : {}),
    ...(disk.label !== undefined ? { label: disk.label } : {}),
    mountpoints: disk.mountpoints,
  };
}

/**
 * `wholeDisk`: also consider whole-disk filesystems (for /home only: a root,
 * ESP or swap to keep must be a partition of the table the plan reuses).
 */
export function findPartition(
  ref: PartRef,
  probe: ProbedSystem,
  field: string,
  opts: { wholeDisk?: boolean } = {},
): Located {
  const hits: Located[] = [];
  for (const disk of probe.disks) {
    const whole = opts.wholeDisk ? wholeDiskFilesystem(disk) : undefined;
    for (const part of whole ? [whole] : disk.partitions)
      if (partMatches(ref, part)) hits.push({ disk, part });
  }
  if (hits.length === 0)
    throw new PlanRefusal(
      field,
      `no partition with ${refText(ref)} on ${probe.disks.map((d) => d.path).join(", ") || "any probed disk"}`,
    );
  if (hits.length > 1)
    throw new PlanRefusal(
      field,
      `${refText(ref)} is ambiguous: ${hits.map((h) => h.part.path).join(", ")}`,
    );
  return hits[0]!;
}

/** GPT type of a BIOS boot partition, where grub-install embeds core.img on GPT. */
export const BIOS_BOOT_GUID = "21686148-6449-6e6f-744e-656564454649";
