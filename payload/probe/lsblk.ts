// Pure: `lsblk -J -b -O` JSON -> ProbedDisk[]. Kernel-only devices (zram,
// ram, rom, device-mapper) are never install targets and are dropped here;
// loop devices are kept only when the probe was restricted to them.
import { z } from "zod";
import type { ProbedDisk, ProbedPartition } from "./types.ts";

const str = z
  .string()
  .nullish()
  .transform((v) => (v === null || v === undefined || v === "" ? undefined : v));

interface Node {
  name: string;
  path?: string | undefined;
  type: string;
  size: number | string;
  fstype?: string | undefined;
  uuid?: string | undefined;
  partuuid?: string | undefined;
  label?: string | undefined;
  partlabel?: string | undefined;
  parttype?: string | undefined;
  pttype?: string | undefined;
  serial?: string | undefined;
  wwn?: string | undefined;
  model?: string | undefined;
  partn?: number | null | undefined;
  mountpoints?: (string | null)[] | null | undefined;
  mountpoint?: string | null | undefined;
  children?: Node[] | undefined;
}

const nodeSchema: z.ZodType<Node> = z.lazy(() =>
  z
    .object({
      name: z.string(),
      path: str,
      type: z.string(),
      size: z.union([z.number(), z.string()]),
      fstype: str,
      uuid: str,
      partuuid: str,
      label: str,
      partlabel: str,
      parttype: str,
      pttype: str,
      serial: str,
      wwn: str,
      model: str,
      partn: z.number().nullish(),
      mountpoints: z.array(z.string().nullable()).nullish(),
      mountpoint: z.string().nullish(),
      children: z.array(nodeSchema).optional(),
    })
    .passthrough(),
);

const lsblkSchema = z.object({ blockdevices: z.array(nodeSchema) });

const TARGET_TYPES = new Set(["disk", "loop"]);
const NEVER = /^(zram|ram|sr|fd|dm-|md)\d*/;

export interface ParseOptions {
  /** by-id link name -> kernel name it resolves to. */
  byId?: Record<string, string>;
  /** Keep loop devices (only when the caller restricted the probe to them). */
  includeLoop?: boolean;
}

export function parseLsblk(json: string, opts: ParseOptions = {}): ProbedDisk[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (cause) {
    throw new Error("lsblk: output is not JSON", { cause });
  }
  const r = lsblkSchema.safeParse(data);
  if (!r.success) throw new Error(`lsblk: unexpected JSON shape: ${r.error.message}`);
  const disks: ProbedDisk[] = [];
  for (const n of r.data.blockdevices) {
    if (!TARGET_TYPES.has(n.type) || NEVER.test(n.name)) continue;
    if (n.type === "loop" && !opts.includeLoop) continue;
    const size = Number(n.size);
    if (!(size > 0)) continue; // an empty loop or a card reader without a card
    disks.push(toDisk(n, size, opts.byId ?? {}));
  }
  return disks;
}

function toDisk(n: Node, size: number, byId: Record<string, string>): ProbedDisk {
  const path = n.path ?? `/dev/${n.name}`;
  const parts = (n.children ?? []).filter((c) => c.type === "part").map((c) => toPartition(c));
  return {
    path,
    name: n.name,
    type: n.type,
    sizeBytes: size,
    ...opt("serial", n.serial),
    ...opt("wwn", n.wwn),
    ...opt("model", n.model?.trim()),
    byId: Object.entries(byId)
      .filter(([, k]) => k === n.name)
      .map(([link]) => `/dev/disk/by-id/${link}`)
      .sort(),
    ...opt("pttype", n.pttype),
    mountpoints: mounts(n),
    ...(parts.length === 0
      ? { ...opt("fstype", n.fstype), ...opt("uuid", n.uuid), ...opt("label", n.label) }
      : {}),
    partitions: parts,
  };
}

function toPartition(c: Node): ProbedPartition {
  const path = c.path ?? `/dev/${c.name}`;
  const num = c.partn ?? numberFromName(c.name);
  return {
    path,
    name: c.name,
    sizeBytes: Number(c.size),
    ...(num !== undefined ? { number: num } : {}),
    ...opt("fstype", c.fstype),
    ...opt("uuid", c.uuid),
    ...opt("partuuid", c.partuuid),
    ...opt("label", c.label),
    ...opt("partlabel", c.partlabel),
    ...opt("parttype", c.parttype?.toLowerCase()),
    // A partition's children (LVM, crypt) being mounted also means "in use".
    mountpoints: [...mounts(c), ...(c.children ?? []).flatMap(mounts)],
  };
}

function mounts(n: Node): string[] {
  const all = [...(n.mountpoints ?? []), n.mountpoint ?? null];
  return [...new Set(all.filter((m): m is string => typeof m === "string" && m !== ""))];
}

function numberFromName(name: string): number | undefined {
  const m = /(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function opt<K extends string>(k: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: string };
}

/** Kernel name of the n-th partition of a disk: sda3, nvme0n1p3, loop2p3, mmcblk0p3. */
export function partitionPath(diskPath: string, n: number): string {
  return /\d$/.test(diskPath) ? `${diskPath}p${n}` : `${diskPath}${n}`;
}
