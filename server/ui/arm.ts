// What the console offers to arm on a host, and the sentence the
// confirmation shows before it does: for an install or a deploy, the disk
// it will pave (by the selector in the host file, the same words as
// `automagic hosts list`) and what happens to the partitions on it.
import type { HostEntry } from "../hosts/index.ts";
import { describeDisk } from "../hosts/listing.ts";

export interface ArmChoice {
  action: string;
  label: string;
  /** The confirmation's text: what the next netboot will do to which disk. */
  confirm: string;
}

/** "disk serial=AM-SYS-BIOS" or, for a host entry without a parsed file, its name only. */
export function diskOf(host: HostEntry): string {
  const d = host.raw?.disk;
  const sel = d ? describeDisk(d) : "";
  return sel ? `disk ${sel}` : "the disk its host file names";
}

function paves(host: HostEntry): string {
  const layout = host.raw?.layout;
  const disk = diskOf(host);
  if (layout?.mode === "create")
    return `it will PAVE ${disk}: a new partition table, everything on that disk is erased`;
  if (layout?.mode === "keep")
    return `it will PAVE ${disk}: the root partition is reformatted, the partition table and /home are kept`;
  if (layout?.mode === "ab" && layout.wipe)
    return `it will PAVE ${disk}: a new A/B partition table, everything on that disk is erased; slot a is written first`;
  if (layout?.mode === "ab")
    return `it will PAVE one root slot on ${disk}: the slot that is not the default is reformatted; the default slot, the partition table and /home are kept, and the new slot boots on trial`;
  return `it will PAVE ${disk}`;
}

export function armChoices(host: HostEntry, sysimgs: readonly string[]): ArmChoice[] {
  const n = host.name;
  const next = `at ${n}'s next netboot`;
  return [
    {
      action: "install",
      label: "install (Gentoo from stage3)",
      confirm: `Arm install on ${n}: ${next} ${paves(host)}.`,
    },
    ...sysimgs.map((img) => ({
      action: `deploy:${img}`,
      label: `deploy:${img}`,
      confirm: `Arm deploy:${img} on ${n}: ${next} ${paves(host)}, then the root comes from system image ${img}.`,
    })),
    {
      action: "capture",
      label: "capture (archive the root filesystem)",
      confirm: `Arm capture on ${n}: ${next} the root partition on ${diskOf(host)} is read (mounted read-only) and archived on this server; nothing is written to the disk.`,
    },
    {
      action: "rescue",
      label: "rescue (RAM system with SSH)",
      confirm: `Arm rescue on ${n}: ${next} it boots the RAM system with SSH; no disk is touched.`,
    },
    {
      action: "discover",
      label: "discover (report the hardware)",
      confirm: `Arm discover on ${n}: ${next} it boots the RAM system, reports firmware, disks and NICs (nothing is mounted read-write), then powers off or reboots as serve.yaml says.`,
    },
  ];
}

export function disarmText(host: HostEntry): string {
  return `Disarm ${host.name}: it boots from ${diskOf(host)} again; a run in progress is cancelled and its token revoked.`;
}
