// Pure: /etc/fstab by filesystem UUID. Kernel names move between boots
// (sda/sdb swap places, loop devices in tests); UUIDs do not.
import { sharedMount } from "./grub-ab.ts";

export interface FstabInput {
  root: { uuid: string; fs: string };
  esp?: { uuid: string };
  /** Layout ab on BIOS: the shared automagic-boot partition (GRUB and its boot state). */
  abBoot?: { uuid: string; fs: "ext4" | "vfat" };
  home: { uuid: string; fs: string; options: string };
  swap?: { uuid: string };
}

export function renderFstab(i: FstabInput): string {
  const rows: string[][] = [
    ["# <fs>", "<mountpoint>", "<type>", "<opts>", "<dump>", "<pass>"],
    [`UUID=${i.root.uuid}`, "/", i.root.fs, "defaults,noatime", "0", "1"],
  ];
  if (i.esp) rows.push([`UUID=${i.esp.uuid}`, "/efi", "vfat", "umask=0077,tz=UTC", "0", "2"]);
  if (i.abBoot)
    rows.push([
      `UUID=${i.abBoot.uuid}`,
      sharedMount("bios"),
      i.abBoot.fs,
      i.abBoot.fs === "vfat" ? "umask=0077,tz=UTC" : "defaults,noatime",
      "0",
      "2",
    ]);
  rows.push([`UUID=${i.home.uuid}`, "/home", i.home.fs, i.home.options, "0", "2"]);
  if (i.swap) rows.push([`UUID=${i.swap.uuid}`, "none", "swap", "sw", "0", "0"]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join(" ")
      .trimEnd(),
  );
  return ["# Written by automagic-install: filesystems by UUID.", ...lines, ""].join("\n");
}
