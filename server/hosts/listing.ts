// `automagic hosts list` as text: one row per host, columns padded.
import type { HostDiskSelector } from "./file-schema.ts";
import type { HostEntry } from "./types.ts";
import { formatSize } from "./units.ts";

export function describeDisk(d: HostDiskSelector): string {
  const parts: string[] = [];
  if (d.serial) parts.push(`serial=${d.serial}`);
  if (d.byId) parts.push(`by-id=${d.byId.replace("/dev/disk/by-id/", "")}`);
  if (d.wwn) parts.push(`wwn=${d.wwn}`);
  if (d.minSize !== undefined || d.maxSize !== undefined) {
    const lo = d.minSize === undefined ? "" : formatSize(d.minSize);
    const hi = d.maxSize === undefined ? "" : formatSize(d.maxSize);
    parts.push(`size=${lo}..${hi}`);
  }
  return parts.join(",");
}

export function formatHostTable(hosts: HostEntry[]): string {
  const rows = [["HOST", "MACS", "FIRMWARE", "DISK", "LAYOUT", "GROUPS"]];
  for (const h of hosts) {
    rows.push([
      h.name,
      h.macs.join(","),
      h.firmware,
      describeDisk(h.raw.disk),
      h.raw.layout.mode,
      h.groups.join(",") || "-",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    .join("\n")
    .concat("\n");
}
