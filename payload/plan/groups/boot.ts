// Boot: the kernel (installkernel + dracut) and GRUB for the spec's firmware.
import type { GroupPlanner } from "./context.ts";
import { step } from "./context.ts";

export const planBoot: GroupPlanner = ({ spec, dev, target }) => {
  const uefi = spec.firmware === "uefi";
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
      title: uefi ? `GRUB (UEFI) on ${dev.esp}` : `GRUB (BIOS) on ${dev.disk.path}`,
      device: uefi ? dev.esp : dev.disk.path,
      detail: uefi
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
      },
    }),
  ];
};
