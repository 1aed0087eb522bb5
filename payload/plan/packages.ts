// Pure: what this host needs that a stage3 does not carry, each with the
// reason, for the one emerge of the system-packages step. A stage3 has
// e2fsprogs, OpenRC/systemd, openssh and netifrc; no bootloader, no DHCP
// client, no firmware, no xfs/btrfs tools.
import type { InstallSpec } from "../spec/schema.ts";
import { FIRMWARE, grubPlatform } from "../spec/needs.ts";

export interface NeededPackage {
  atom: string;
  why: string;
}

const FS_TOOLS: Partial<Record<InstallSpec["rootfs"], string>> = {
  xfs: "sys-fs/xfsprogs",
  btrfs: "sys-fs/btrfs-progs",
};

export function stage3Lacks(spec: InstallSpec): NeededPackage[] {
  const out: NeededPackage[] = [
    {
      atom: "sys-boot/grub",
      why: `the bootloader (GRUB_PLATFORMS=${grubPlatform(spec.firmware)})`,
    },
  ];
  if (spec.firmware === "uefi")
    out.push({ atom: "sys-boot/efibootmgr", why: "the UEFI boot entry" });
  if (spec.init === "openrc" && spec.network.mode === "dhcp")
    out.push({ atom: "net-misc/dhcpcd", why: "DHCP on OpenRC" });
  // fsck at boot needs the tools of every filesystem fstab mounts.
  for (const [fs, where] of [
    [spec.rootfs, "/"],
    [spec.home.fs, "/home"],
  ] as const) {
    const atom = FS_TOOLS[fs];
    if (!atom) continue;
    const seen = out.find((p) => p.atom === atom);
    if (seen) seen.why += ` and ${where}`;
    else out.push({ atom, why: `${fs} on ${where}` });
  }
  if (spec.kernel.linuxFirmware)
    out.push({ atom: FIRMWARE.linuxFirmware.atom, why: "kernel.linuxFirmware" });
  if (spec.kernel.intelMicrocode)
    out.push({ atom: FIRMWARE.intelMicrocode.atom, why: "kernel.intelMicrocode" });
  return out;
}
