// Root (the tree's "install" group): mount the fresh root, fill it from the
// stage3 or the system image, mount the ESP and /home under it, set up
// Portage and the chroot mounts the configure steps run in.
import type { GroupPlanner, PlanContext } from "./context.ts";
import { step } from "./context.ts";
import { portageFiles } from "../../render/portage.ts";
import type { Step } from "../types.ts";
import { abBoot } from "./configure.ts";
import { slotName } from "./disk.ts";
import { sharedMount } from "../../render/grub-ab.ts";

export const planRoot: GroupPlanner = (ctx) => {
  const { spec, dev, target } = ctx;
  return [
    step({
      id: "mount-root",
      group: "install",
      title: `mount ${dev.ab ? slotName(dev.ab.slot, dev.root) : dev.root} at ${target}`,
      device: dev.root,
      detail: [],
      action: { kind: "mount", device: dev.root, target, fs: spec.rootfs },
    }),
    extract(ctx),
    ...(dev.esp
      ? [
          step({
            id: "mount-esp",
            group: "install",
            title: `mount ${dev.esp} at ${target}/efi`,
            device: dev.esp,
            detail: [],
            action: { kind: "mount", device: dev.esp, target: `${target}/efi`, fs: "vfat" },
          }),
        ]
      : []),
    ...(abBoot(ctx)
      ? [
          step({
            id: "mount-boot",
            group: "install",
            title: `mount the shared boot partition ${abBoot(ctx)} at ${target}${sharedMount("bios")}`,
            device: abBoot(ctx),
            detail: ["GRUB and its boot state (grub/grubenv) live there, for both slots"],
            action: {
              kind: "mount",
              device: abBoot(ctx)!,
              target: `${target}${sharedMount("bios")}`,
              fs: dev.ab!.bootFs,
            },
          }),
        ]
      : []),
    step({
      id: "mount-home",
      group: "install",
      title: `mount /home (${dev.home}) at ${target}/home`,
      device: dev.home,
      detail: ["after extraction, so tar never touches /home's top directory"],
      action: {
        kind: "mount",
        device: dev.home,
        target: `${target}/home`,
        fs: dev.homeFs,
        options: spec.home.options,
      },
    }),
    portage(ctx),
    step({
      id: "chroot-mounts",
      group: "install",
      title: "chroot mounts",
      detail: [
        "proc; rbind+rslave sys, dev; bind+slave run; resolv.conf dereferenced; /dev/shm",
        ...(spec.firmware === "uefi" ? ["efivarfs"] : []),
      ],
      action: { kind: "chroot-mounts", target, efivarfs: spec.firmware === "uefi" },
    }),
  ];
};

function extract({ dev, target, deploy }: PlanContext): Step {
  if (deploy) {
    return step({
      id: "extract-sysimg",
      group: "install",
      title: `extract system image ${deploy.image} into ${target}`,
      device: dev.root,
      detail: ["zstd | tar xp --xattrs-include='*.*' --numeric-owner, streamed with progress"],
      action: { kind: "extract-sysimg", target },
    });
  }
  return step({
    id: "extract-stage3",
    group: "install",
    title: `extract the stage3 into ${target}`,
    device: dev.root,
    detail: ["tar xp --xattrs-include='*.*' --numeric-owner, streamed with progress"],
    action: { kind: "extract-stage3", target },
  });
}

/** A system image carries its repository; /etc/portage is still the host's. */
function portage({ spec, target, deploy }: PlanContext): Step {
  const files = portageFiles(spec);
  return step({
    id: "portage",
    group: "install",
    title: deploy ? "/etc/portage" : "repository snapshot and /etc/portage",
    detail: [...(deploy ? [] : ["snapshot -> /var/db/repos/gentoo"]), ...files.map((f) => f.path)],
    action: {
      kind: "portage",
      target,
      files,
      binhost: spec.portage.binhost,
      ...(deploy ? { snapshot: false } : {}),
    },
  });
}
