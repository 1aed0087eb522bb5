// Pure: `blkid -p -o export` output, merged into what lsblk saw. Without
// udev (many RAM systems, this CI) lsblk reports no filesystem or partition
// metadata at all; blkid's low-level probe reads it from the device itself.
import type { ProbedDisk, ProbedPartition } from "./types.ts";

export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Fills fields lsblk left empty; what lsblk did report wins. */
export function mergeBlkidPartition(
  p: ProbedPartition,
  b: Record<string, string>,
): ProbedPartition {
  const pick = (cur: string | undefined, v: string | undefined) =>
    cur ?? (v === "" ? undefined : v);
  const merged: ProbedPartition = { ...p };
  const set = (
    k: "fstype" | "uuid" | "label" | "partlabel" | "partuuid" | "parttype",
    v: string | undefined,
  ) => {
    const x = pick(p[k], v);
    if (x !== undefined) merged[k] = k === "parttype" ? x.toLowerCase() : x;
  };
  set("fstype", b.TYPE);
  set("uuid", b.UUID);
  set("label", b.LABEL);
  set("partlabel", b.PART_ENTRY_NAME);
  set("partuuid", b.PART_ENTRY_UUID);
  set("parttype", b.PART_ENTRY_TYPE);
  if (merged.number === undefined && b.PART_ENTRY_NUMBER)
    merged.number = Number(b.PART_ENTRY_NUMBER);
  return merged;
}

/** A partition table, or (no table, no partitions) a filesystem on the whole disk. */
export function mergeBlkidDisk(d: ProbedDisk, b: Record<string, string>): ProbedDisk {
  if (d.pttype !== undefined) return d;
  if (b.PTTYPE) return { ...d, pttype: b.PTTYPE };
  if (d.partitions.length > 0 || b.USAGE !== "filesystem" || !b.TYPE) return d;
  return {
    ...d,
    fstype: d.fstype ?? b.TYPE,
    ...((d.uuid ?? b.UUID) ? { uuid: (d.uuid ?? b.UUID)! } : {}),
    ...((d.label ?? b.LABEL) ? { label: (d.label ?? b.LABEL)! } : {}),
  };
}

/** `wipefs --no-act --json` output -> the signature types, in order: all `wipefs --all` would erase. */
export function parseWipefsTypes(json: string): string[] {
  if (json.trim() === "") return []; // older wipefs prints nothing for a device without signatures
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (cause) {
    throw new Error("wipefs: output is not JSON", { cause });
  }
  const sigs = (data as { signatures?: unknown }).signatures;
  if (!Array.isArray(sigs)) throw new Error("wipefs: JSON without a signatures list");
  return sigs.map((s: { type?: unknown }) => String(s.type));
}
