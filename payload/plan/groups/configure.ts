// Configure: the machine's own identity inside the new root: system files
// and profile, what the stage3 lacks, fstab by UUID, network, accounts,
// sshd and a fresh machine-id. The same for an install and a deploy.
import type { GroupPlanner, PlanContext } from "./context.ts";
import { step } from "./context.ts";
import { systemCommands, systemFiles } from "../../render/system.ts";
import { emergeInstallArgv } from "../../render/emerge.ts";
import { stage3Lacks } from "../packages.ts";
import type { Step } from "../types.ts";
import { sharedMount } from "../../render/grub-ab.ts";

export const planConfigure: GroupPlanner = (ctx) => {
  const { spec, target, network } = ctx;
  const sfiles = systemFiles(spec);
  const scmds = systemCommands(spec);
  return [
    step({
      id: "system-files",
      group: "configure",
      title: "hostname, locale, keymap, timezone files",
      detail: sfiles.map((f) => f.path),
      action: { kind: "write-files", target, files: sfiles },
    }),
    step({
      id: "system-config",
      group: "configure",
      title: "profile, timezone, locales",
      detail: scmds.map((c) => c.join(" ")),
      action: { kind: "chroot-run", target, commands: scmds },
    }),
    // After the profile and getuto (emerge needs both), before the network is
    // enabled (OpenRC's DHCP service comes with net-misc/dhcpcd).
    systemPackages(ctx),
    fstab(ctx),
    step({
      id: "network-files",
      group: "configure",
      title: `network (${spec.init}, ${spec.network.mode}) on ${network.ifname}, the NIC with MAC ${network.mac}`,
      detail: [...network.files.map((f) => f.path), ...network.commands.map((c) => c.join(" "))],
      action: { kind: "write-files", target, files: network.files },
    }),
    step({
      id: "network-enable",
      group: "configure",
      title: "enable networking",
      detail: [],
      action: { kind: "chroot-run", target, commands: network.commands },
    }),
    step({
      id: "accounts",
      group: "configure",
      title: "groups and users with the spec's UID/GID",
      detail: [
        ...spec.groups.map((g) => `group ${g.name} ${g.gid}`),
        ...spec.users.map(
          (u) =>
            `user ${u.name} ${u.uid}:${u.gid}${u.password === "keep" ? " (kept password)" : ""}${u.authorizedKeys.length ? `, ${u.authorizedKeys.length} authorized key(s)` : ""}`,
        ),
      ],
      action: { kind: "accounts", target },
    }),
    step({
      id: "ssh",
      group: "configure",
      title: `sshd enabled, ${spec.keepSshHostKeys ? "kept" : "fresh"} host keys`,
      detail: [],
      action: { kind: "ssh", target, keepHostKeys: spec.keepSshHostKeys, init: spec.init },
    }),
    step({
      id: "machine-id",
      group: "configure",
      title: "fresh machine-id",
      detail: [],
      action: { kind: "machine-id", target, init: spec.init },
    }),
  ];
};

function systemPackages({ spec, target }: PlanContext): Step {
  const atoms = stage3Lacks(spec);
  return step({
    id: "system-packages",
    group: "configure",
    title: `emerge what the stage3 lacks: ${atoms.map((p) => p.atom).join(" ")}`,
    detail: [
      ...atoms.map((p) => `${p.atom}: ${p.why}`),
      emergeInstallArgv(
        spec,
        atoms.map((p) => p.atom),
      ).join(" "),
    ],
    action: { kind: "emerge", target, atoms: atoms.map((p) => p.atom) },
  });
}

/** Layout ab on BIOS: the shared automagic-boot partition (on UEFI it is the ESP, at /efi). */
export const abBoot = ({ spec, dev }: PlanContext): string | undefined =>
  dev.ab && spec.firmware === "bios" ? dev.ab.boot : undefined;

function fstab(ctx: PlanContext): Step {
  const { spec, dev, target } = ctx;
  return step({
    id: "fstab",
    group: "configure",
    title: "fstab by UUID",
    detail: [
      `/ ${dev.root}`,
      ...(dev.esp ? [`/efi ${dev.esp}`] : []),
      ...(abBoot(ctx) ? [`${sharedMount("bios")} ${abBoot(ctx)}`] : []),
      `/home ${dev.home}`,
      ...(dev.swap ? [`swap ${dev.swap}`] : []),
    ],
    action: {
      kind: "fstab",
      target,
      root: { device: dev.root, fs: spec.rootfs },
      ...(dev.esp ? { esp: { device: dev.esp } } : {}),
      ...(abBoot(ctx) ? { abBoot: { device: abBoot(ctx)!, fs: dev.ab!.bootFs } } : {}),
      home: { device: dev.home, fs: dev.homeFs, options: spec.home.options },
      ...(dev.swap ? { swap: { device: dev.swap } } : {}),
    },
  });
}
