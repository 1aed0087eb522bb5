// Pure: a commented host file drafted from a discover run's inventory
// (`automagic hosts draft MAC|HOST`). It names the disk by its most stable
// identifier, keeps the partition table when a /home was found on it
// (reformatting only the old root), else creates one, and says in comments
// what it saw and what a person must still decide. `hosts validate` accepts
// it as is beside a defaults.yaml (test/unit/hosts/draft.test.ts).
import type { Inventory, InventoryDisk, InventoryPartition } from "../../payload/spec/inventory.ts";

export interface DraftInput {
  /** The host's name (file name), or a suggestion for a machine without one. */
  name: string;
  inventory: Inventory;
  /** MACs to list besides the inventory's NICs (a host file's, the run's). */
  macs: string[];
  /** When the inventory was reported, ISO 8601. */
  reportedAt: string;
  runId?: number;
}

const q = (s: string) => JSON.stringify(s);
const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
const FS = new Set(["ext4", "xfs", "btrfs"]);

type Ref = Record<"uuid" | "partuuid" | "label" | "partlabel", string>;

/** The first identifier of `p` no other partition of the inventory shares. */
function refOf(p: InventoryPartition, all: InventoryPartition[], order: Array<keyof Ref>) {
  for (const k of order) {
    const v = p[k];
    if (v && all.filter((o) => o[k] === v).length === 1) return `{ ${k}: ${q(v)} }`;
  }
  return undefined;
}

/** A disk selector line set: serial, else WWN, else a by-id link, else its exact size. */
function selector(d: InventoryDisk): string[] {
  if (d.serial) return [`serial: ${q(d.serial)}`];
  if (d.wwn) return [`wwn: ${q(d.wwn)}`];
  if (d.byId[0]) return [`byId: ${q(d.byId[0])}`];
  return [
    `minSize: ${d.sizeBytes} # no serial, WWN or by-id link: selected by its exact size`,
    `maxSize: ${d.sizeBytes}`,
  ];
}

const stable = (d: InventoryDisk) => Boolean(d.serial || d.wwn || d.byId[0]);

/** The /home with the most files, and the disk it is on. */
function findHome(inv: Inventory) {
  const homes = inv.disks.flatMap((d) =>
    d.partitions
      .filter((p) => p.role === "home" && p.fstype && FS.has(p.fstype))
      .map((p) => ({ d, p })),
  );
  return homes.sort((a, b) => (b.p.files ?? 0) - (a.p.files ?? 0))[0];
}

/** The disk to install on: an old Gentoo root's, else another OS's, else /home's when a root fits beside it, else the largest other fixed disk. */
function pickTarget(
  inv: Inventory,
  homeDisk: InventoryDisk | undefined,
): InventoryDisk | undefined {
  const has = (role: string) => inv.disks.find((d) => d.partitions.some((p) => p.role === role));
  const fixed = inv.disks.filter((d) => !d.removable).sort((a, b) => b.sizeBytes - a.sizeBytes);
  return (
    has("gentoo-root") ??
    has("os-root") ??
    (homeDisk && pickRoot(homeDisk) ? homeDisk : undefined) ??
    fixed.find((d) => d !== homeDisk) ??
    fixed[0] ??
    inv.disks[0]
  );
}

/** The partition to reformat as root on the kept table: an old Gentoo root, another OS's, else the largest plain one. */
function pickRoot(d: InventoryDisk): InventoryPartition | undefined {
  const plain = d.partitions
    .filter((p) => !p.role && p.sizeBytes >= 8e9)
    .sort((a, b) => b.sizeBytes - a.sizeBytes);
  return (
    d.partitions.find((p) => p.role === "gentoo-root") ??
    d.partitions.find((p) => p.role === "os-root") ??
    plain[0]
  );
}

/** The inventory as lines a person reads (`automagic inventory HOST`, the draft's comments). */
export function describeInventory(inv: Inventory): string[] {
  const fw = inv.firmware;
  const out = [
    `firmware: ${fw.mode}${fw.secureBoot ? `, Secure Boot ${fw.secureBoot}` : ""}`,
    `cpu: ${inv.cpu.count} x ${inv.cpu.model}; memory: ${gb(inv.memory.totalBytes)}`,
  ];
  for (const d of inv.disks) {
    const what = [
      d.model,
      d.serial && `serial ${d.serial}`,
      d.wwn && `wwn ${d.wwn}`,
      d.rotational === undefined ? undefined : d.rotational ? "rotational" : "non-rotational",
      d.removable && "removable",
      ...d.byId.slice(0, 2),
    ];
    out.push(
      `disk ${d.path}: ${gb(d.sizeBytes)}, ${what.filter(Boolean).join(", ")}, table ${d.pttype ?? "none"}`,
    );
    for (const p of d.partitions) {
      const bits = [
        gb(p.sizeBytes),
        p.fstype,
        p.label && `label ${p.label}`,
        p.partlabel && `partlabel ${p.partlabel}`,
        p.role && `looks like ${p.role}${p.os ? ` (${p.os})` : ""}`,
        p.files !== undefined && `${p.files}${p.filesCapped ? "+" : ""} files`,
      ];
      out.push(`  ${p.path}: ${bits.filter(Boolean).join(", ")}`);
    }
  }
  for (const n of inv.nics)
    out.push(
      `nic ${n.name} ${n.mac}: ${n.driver ?? "no driver"}, link ${n.link}${n.speedMbps ? ` ${n.speedMbps} Mb/s` : ""}${n.netboot ? ", netbooted" : ""}`,
    );
  for (const p of inv.problems) out.push(`PROBLEM: ${p.message}`);
  return out;
}

export function renderDraft(i: DraftInput): string {
  const inv = i.inventory;
  const home = findHome(inv);
  const target = pickTarget(inv, home?.d);
  const parts = inv.disks.flatMap((d) => d.partitions);
  const nicMacs = [...inv.nics]
    .sort((a, b) => Number(b.netboot) - Number(a.netboot))
    .map((n) => n.mac);
  const macs = [...new Set([...nicMacs, ...i.macs.map((m) => m.toLowerCase())])];
  const uefi = inv.firmware.mode === "uefi";
  const lines = [
    "# yaml-language-server: $schema=host.schema.json",
    `# ${i.name}.yaml, drafted by \`automagic hosts draft\` from the inventory${i.runId !== undefined ? ` of run ${i.runId}` : ""}`,
    `# reported at ${i.reportedAt}. Read every CHANGE-ME; rootfs, portage, locale,`,
    "# timezone, keymap and network come from defaults.yaml. What the machine showed:",
    ...describeInventory(inv).map((l) => `# ${l}`),
    "",
    "# Every NIC of the machine; the one it netbooted from first.",
    `macs: [${macs.map(q).join(", ")}]`,
    `firmware: ${inv.firmware.mode} # as it booted the RAM system`,
    "",
  ];
  if (!target) {
    lines.push("# CHANGE-ME: the machine showed no disk at all (a controller without a driver?)");
    lines.push("disk:", '  serial: "CHANGE-ME"');
  } else {
    lines.push(
      `# ${target.path}: ${gb(target.sizeBytes)}${target.model ? `, ${target.model}` : ""}`,
    );
    lines.push("disk:", ...selector(target).map((l) => `  ${l}`));
  }
  lines.push("");
  const root = target && home?.d === target ? pickRoot(target) : undefined;
  const rootRef = root && refOf(root, parts, ["partlabel", "partuuid"]);
  if (target && home?.d === target && rootRef) {
    lines.push(
      `# keep: /home (${home.p.path}) is on this disk; only ${root.path}${root.os ? ` (${root.os})` : ""} is reformatted.`,
      "layout:",
      "  mode: keep",
      `  root: ${rootRef}`,
    );
    const esp = target.partitions.find((p) => p.role === "esp");
    const espRef = esp && refOf(esp, parts, ["partlabel", "partuuid"]);
    if (espRef) lines.push(`  esp: ${espRef}`);
    else if (uefi)
      lines.push(
        '  esp: { partlabel: "EFI" } # CHANGE-ME: no EFI system partition was found on this disk',
      );
    const swap = target.partitions.find((p) => p.role === "swap");
    const swapRef = swap && refOf(swap, parts, ["partlabel", "partuuid"]);
    if (swapRef) lines.push(`  swap: ${swapRef}`);
  } else if (target && home?.d !== target && stable(target)) {
    lines.push(
      `# create: a new partition table on ${target.path}; everything on it is lost.`,
      "layout:",
      "  mode: create",
      "  wipe:",
      ...selector(target).map((l) => `    ${l}`),
      ...(uefi ? ["  espSize: 512MiB"] : []),
    );
  } else {
    lines.push(
      "# CHANGE-ME: no root partition to reformat was found beside /home, and a new",
      "# table needs a disk with a serial, WWN or by-id link. Name the root to reformat:",
      "layout:",
      "  mode: keep",
      '  root: { partlabel: "gentoo-root" }',
      ...(uefi ? ['  esp: { partlabel: "EFI" }'] : []),
    );
  }
  lines.push("");
  if (home) {
    const ref =
      refOf(home.p, parts, ["label", "uuid", "partuuid"]) ??
      `{ uuid: ${q(home.p.uuid ?? "CHANGE-ME")} }`;
    const who = home.p.owners?.map((o) => `${o.name} (${o.uid})`).join(", ");
    lines.push(
      `# ${home.p.path}: ${home.p.files ?? "?"}${home.p.filesCapped ? "+" : ""} files${who ? `; owners ${who}` : ""}. Never formatted.`,
      "home:",
      `  ref: ${ref}`,
      `  fs: ${home.p.fstype}`,
    );
    if (home.d !== target && stable(home.d))
      lines.push("  disk:", ...selector(home.d).map((l) => `    ${l}`));
  } else {
    lines.push(
      "# CHANGE-ME: no partition looks like /home. automagic never creates /home:",
      "# make one (mkfs.ext4 -L home) on a disk that is not wiped, or point this at it.",
      "home:",
      '  ref: { label: "home" }',
      "  fs: ext4",
    );
  }
  lines.push("", "init: openrc # or systemd (then a systemd portage profile)", "");
  return lines.join("\n");
}
