// Boot: the kernel (installkernel + dracut) and GRUB for the spec's firmware.
import type { GroupPlanner } from "./context.ts";
import { step } from "./context.ts";
import { slotName } from "./disk.ts";
import type { AbDevices } from "../ab.ts";
import { sharedMount } from "../../render/grub-ab.ts";

export const planBoot: GroupPlanner = ({ spec, dev, target }) => {
  const uefi = spec.firmware === "uefi";
  const ab = dev.ab;
  return [
    step({
      id: "kernel",
      group: "boot",
      title: `kernel: emerge ${spec.kernel.package}`,
      detail: [
        "installkernel+dracut, cmdline root=UUID=<root>" +
          (spec.kernel.cmdline ? ` ${spec.kernel.cmdline}` : ""),
      ],
      action: {
        kind: "kernel",
        target,
        package: spec.kernel.package,
        cmdline: spec.kernel.cmdline,
        rootDevice: dev.root,
      },
    }),
    step({
      id: "bootloader",
      group: "boot",
      title:
        (uefi ? `GRUB (UEFI) on ${dev.esp}` : `GRUB (BIOS) on ${dev.disk.path}`) +
        (ab ? `, booting ${slotName(ab.slot, dev.root)}` : ""),
      device: uefi ? dev.esp : dev.disk.path,
      detail: ab
        ? abBootLines(ab, spec.firmware, dev.disk.path)
        : uefi
          ? [
              "grub-install --efi-directory=/efi --no-nvram + fallback EFI/BOOT/BOOTX64.EFI",
              "efibootmgr entry right after the netboot entry in BootOrder (netboot stays first)",
              "grub-mkconfig; grub.cfg must carry root=UUID=",
            ]
          : [
              `grub-install --target=i386-pc ${dev.disk.path}`,
              "grub-mkconfig; grub.cfg must carry root=UUID=",
            ],
      action: {
        kind: "bootloader",
        target,
        firmware: spec.firmware,
        disk: dev.disk.path,
        rootDevice: dev.root,
        ...(dev.esp ? { espDevice: dev.esp } : {}),
        ...(ab
          ? {
              ab: {
                slot: ab.slot,
                shared: ab.boot,
                sharedFs: ab.bootFs,
                tries: ab.tries,
                first: ab.first,
              },
            }
          : {}),
      },
    }),
  ];
};

/** The bootloader step under ab (ab-design.md "After phase 1"): GRUB once in the shared partition. */
function abBootLines(ab: AbDevices, firmware: "bios" | "uefi", disk: string): string[] {
  const dir = sharedMount(firmware);
  return [
    firmware === "uefi"
      ? `grub-install --efi-directory=${dir} --boot-directory=${dir} + fallback EFI/BOOT/BOOTX64.EFI`
      : `grub-install --target=i386-pc --boot-directory=${dir} ${disk}`,
    `shared ${dir}/grub/grub.cfg (${ab.boot}, ${ab.bootFs}) boots the slot by its label`,
    "slot's own grub-mkconfig; grub.cfg must carry root=UUID=",
    ab.first
      ? `grubenv: ab_default=${ab.slot} (first install, no trial)`
      : `grubenv: ab_trial=${ab.slot} ab_tries=${ab.tries}; ab_default stays ${ab.other} until slot ${ab.slot} confirms`,
  ];
}
