// Disk: the destructive steps (the tree's "pave" group): a fresh GPT when the
// layout creates one, then the ESP, swap and root filesystems. Each checks
// first that the device is still the one the plan was made for.
import type { GroupPlanner } from "./context.ts";
import { step } from "./context.ts";
import { describeDiskIdentity, describePartIdentity, type PartIdentity } from "../identity.ts";
import type { Step } from "../types.ts";
import type { AbDevices } from "../ab.ts";
import { AB_BOOT_LABEL } from "../ab.ts";
import { slotLabel } from "../../render/grub-ab.ts";

/** The label every root automagic formats carries; capture finds the root by it. */
export const ROOT_FS_LABEL = "gentoo-root";

export const planDisk: GroupPlanner = ({ spec, dev }) => {
  const steps: Step[] = [];
  if (dev.partition) {
    steps.push(
      step({
        id: "partition",
        group: "pave",
        title: `write a fresh GPT on ${dev.disk.path}`,
        device: dev.disk.path,
        destructive: true,
        detail: [
          `checked first: still the disk with ${describeDiskIdentity(dev.partition.expect)}`,
          ...dev.partition.partitions.map(
            (p) =>
              `${p.number}: ${p.role}${p.name ? ` ${p.name}` : ""}${p.sizeBytes ? ` ${p.sizeBytes} bytes` : " rest of disk"}`,
          ),
        ],
        action: dev.partition,
      }),
    );
  }
  if (dev.esp && dev.formatEsp)
    steps.push(
      format("format-esp", `wipefs + mkfs.vfat ${dev.esp}`, dev.esp, dev.ids, "vfat", "EFI"),
    );
  if (dev.ab?.formatBoot && spec.firmware === "bios")
    steps.push(
      format(
        "format-boot",
        `wipefs + mkfs.ext4 ${dev.ab.boot} (shared boot partition)`,
        dev.ab.boot,
        dev.ids,
        "ext4",
        AB_BOOT_LABEL,
      ),
    );
  if (dev.swap && dev.formatSwap)
    steps.push(format("format-swap", `mkswap ${dev.swap}`, dev.swap, dev.ids, "swap"));
  const expect = dev.ids[dev.root]!;
  steps.push(
    step({
      id: "format-root",
      group: "pave",
      title: `wipefs + mkfs.${spec.rootfs} ${dev.ab ? slotName(dev.ab.slot, dev.root) : dev.root}`,
      device: dev.root,
      destructive: true,
      detail: [
        checked(expect, !dev.partition),
        ...(dev.ab ? [abWhy(dev.ab), `slot ${dev.ab.other} is not touched`] : []),
        `/home (${dev.home}) is not touched`,
      ],
      action: {
        kind: "format",
        device: dev.root,
        fs: spec.rootfs,
        label: dev.ab ? slotLabel(dev.ab.slot) : ROOT_FS_LABEL,
        expect,
        // A kept table's root may have become a LUKS/LVM/RAID member since it was last installed.
        ...(dev.partition ? {} : { refuseContainers: true }),
      },
    }),
  );
  return steps;
};

/** How the plan names a slot: "slot b (/dev/vda4)". */
export const slotName = (slot: string, device: string): string => `slot ${slot} (${device})`;

/** Why this slot, and what happens to the boot state, for the tree. */
function abWhy(ab: AbDevices): string {
  return `slot ${ab.slot}: ${ab.why}; ${ab.first ? "becomes the default at once" : `booted on trial (${ab.tries} tries), slot ${ab.other} stays the default until it confirms`}`;
}

/** Formats a partition other than the root (ESP, swap), checked first as the plan saw it. */
function format(
  id: string,
  title: string,
  device: string,
  ids: Record<string, PartIdentity>,
  fs: string,
  label?: string,
): Step {
  const expect = ids[device]!;
  return step({
    id,
    group: "pave",
    title,
    device,
    destructive: true,
    detail: [checked(expect)],
    action: { kind: "format", device, fs, ...(label ? { label } : {}), expect },
  });
}

/** The tree line saying what a format step checks before it writes. */
function checked(id: PartIdentity, containers = false): string {
  return `checked first: still ${describePartIdentity(id)}${containers ? "; no LUKS, LVM or RAID signature on it" : ""}`;
}
