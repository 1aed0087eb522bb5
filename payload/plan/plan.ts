// planInstall(spec, probe): the whole phase-1 install as data. Pure: it
// validates while planning (every refusal is a PlanRefusal naming the field)
// and orders the steps so nothing is destroyed before everything needed is
// in hand: fetch+verify and the keep-list come before the first format.
import type { InstallSpec } from "../spec/schema.ts";
import type { ProbedSystem } from "../probe/types.ts";
import { portageFiles } from "../render/portage.ts";
import { systemCommands, systemFiles } from "../render/system.ts";
import { renderNetwork } from "../render/network.ts";
import { emergeInstallArgv } from "../render/emerge.ts";
import {
  checkBootMac,
  checkFirmware,
  checkHomeOwners,
  checkKeepList,
  checkPortage,
  chooseStaging,
} from "./checks.ts";
import { resolveDevices } from "./layout.ts";
import { describeDiskIdentity, describePartIdentity, type PartIdentity } from "./identity.ts";
import { stage3Lacks } from "./packages.ts";
import type { DeploySource, Step } from "./types.ts";

/** The label every root automagic formats carries; capture finds the root by it. */
export const ROOT_FS_LABEL = "gentoo-root";

export interface PlanOptions {
  /** Where the new root is mounted. */
  target?: string;
  /** The payload's own scratch directory on the RAM system. */
  stateDir?: string;
  /**
   * deploy:<image>: the root comes from that captured system image instead
   * of stage3 + snapshot (fetched and verified before anything is paved, as
   * stage3 is); every configure, boot and finish step is the same, which is
   * what gives the machine its own identity.
   */
  deploy?: DeploySource;
}

export function planInstall(
  spec: InstallSpec,
  probe: ProbedSystem,
  opts: PlanOptions = {},
): Step[] {
  const target = opts.target ?? "/mnt/gentoo";
  const stateDir = opts.stateDir ?? "/run/automagic";
  checkBootMac(spec, probe.bootNic?.mac);
  checkFirmware(spec, probe);
  checkPortage(spec);
  const dev = resolveDevices(spec, probe);
  checkHomeOwners(spec, probe);
  checkKeepList(spec, probe, dev.oldRoot);
  const staging = chooseStaging(probe, stateDir);
  const network = renderNetwork(spec, probe.bootNic);

  const steps: Step[] = [];
  const add = (s: Omit<Step, "destructive"> & { destructive?: boolean }) =>
    steps.push({ destructive: false, ...s });

  const stagingLine = `staging in ${staging.where === "ram" ? "RAM" : "/home"} (${staging.dir}): ${staging.reason}`;
  if (opts.deploy) {
    const d = opts.deploy;
    add({
      id: "fetch-sysimg",
      group: "prepare",
      title: d.home
        ? `verify system image ${d.image} on ${d.home.device} (/home/data/sysimgs)${d.server ? ", the server's copy if it is corrupted" : ""}`
        : `fetch system image ${d.image} from the server`,
      detail: [
        "sha256 checked against the one it was captured with, before anything is paved",
        ...(d.home && !d.server ? [] : [stagingLine]),
      ],
      action: { kind: "fetch-sysimg", ...d, staging },
    });
  } else {
    add({
      id: "fetch-verify",
      group: "prepare",
      title: `fetch and verify stage3-amd64-${spec.stage3.variant} and the repository snapshot`,
      detail: [
        `mirror ${spec.stage3.mirror}`,
        `signatures: GOODSIG+VALIDSIG from ${spec.stage3.trustedKeys.join(", ")}; SHA512 from .DIGESTS`,
        stagingLine,
      ],
      action: {
        kind: "fetch-verify",
        mirror: spec.stage3.mirror,
        variant: spec.stage3.variant,
        trustedKeys: spec.stage3.trustedKeys,
        staging,
      },
    });
  }
  const keepNames = spec.users.filter((u) => u.password === "keep").map((u) => u.name);
  if (dev.oldRoot && (keepNames.length || spec.keepSshHostKeys)) {
    const fstype =
      probe.oldRoot?.device === dev.oldRoot
        ? (probe.disks.flatMap((d) => d.partitions).find((p) => p.path === dev.oldRoot)?.fstype ??
          "auto")
        : "auto";
    add({
      id: "read-keep-list",
      group: "prepare",
      title: "read what is kept from the old root (read-only)",
      device: dev.oldRoot,
      detail: [
        ...(keepNames.length ? [`password hashes of ${keepNames.join(", ")}`] : []),
        ...(spec.keepSshHostKeys ? ["SSH host keys"] : []),
      ],
      action: {
        kind: "read-keep-list",
        device: dev.oldRoot,
        fstype,
        passwords: keepNames,
        sshHostKeys: spec.keepSshHostKeys,
      },
    });
  }

  if (dev.partition) {
    add({
      id: "partition",
      group: "pave",
      title: `write a fresh GPT on ${dev.disk.path}`,
      device: dev.disk.path,
      destructive: true,
      detail: [
        `checked first: still the disk with ${describeDiskIdentity(dev.partition.expect)}`,
        ...dev.partition.partitions.map(
          (p) => `${p.number}: ${p.role}${p.sizeBytes ? ` ${p.sizeBytes} bytes` : " rest of disk"}`,
        ),
      ],
      action: dev.partition,
    });
  }
  if (dev.esp && dev.formatEsp) {
    add({
      id: "format-esp",
      group: "pave",
      title: `wipefs + mkfs.vfat ${dev.esp}`,
      device: dev.esp,
      destructive: true,
      detail: [checked(dev.ids[dev.esp]!)],
      action: {
        kind: "format",
        device: dev.esp,
        fs: "vfat",
        label: "EFI",
        expect: dev.ids[dev.esp]!,
      },
    });
  }
  if (dev.swap && dev.formatSwap) {
    add({
      id: "format-swap",
      group: "pave",
      title: `mkswap ${dev.swap}`,
      device: dev.swap,
      destructive: true,
      detail: [checked(dev.ids[dev.swap]!)],
      action: { kind: "format", device: dev.swap, fs: "swap", expect: dev.ids[dev.swap]! },
    });
  }
  add({
    id: "format-root",
    group: "pave",
    title: `wipefs + mkfs.${spec.rootfs} ${dev.root}`,
    device: dev.root,
    destructive: true,
    detail: [checked(dev.ids[dev.root]!, !dev.partition), `/home (${dev.home}) is not touched`],
    action: {
      kind: "format",
      device: dev.root,
      fs: spec.rootfs,
      label: ROOT_FS_LABEL,
      expect: dev.ids[dev.root]!,
      // A kept table's root may have become a LUKS/LVM/RAID member since it was last installed.
      ...(dev.partition ? {} : { refuseContainers: true }),
    },
  });

  add({
    id: "mount-root",
    group: "install",
    title: `mount ${dev.root} at ${target}`,
    device: dev.root,
    detail: [],
    action: { kind: "mount", device: dev.root, target, fs: spec.rootfs },
  });
  if (opts.deploy) {
    add({
      id: "extract-sysimg",
      group: "install",
      title: `extract system image ${opts.deploy.image} into ${target}`,
      device: dev.root,
      detail: ["zstd | tar xp --xattrs-include='*.*' --numeric-owner, streamed with progress"],
      action: { kind: "extract-sysimg", target },
    });
  } else {
    add({
      id: "extract-stage3",
      group: "install",
      title: `extract the stage3 into ${target}`,
      device: dev.root,
      detail: ["tar xp --xattrs-include='*.*' --numeric-owner, streamed with progress"],
      action: { kind: "extract-stage3", target },
    });
  }
  if (dev.esp) {
    add({
      id: "mount-esp",
      group: "install",
      title: `mount ${dev.esp} at ${target}/efi`,
      device: dev.esp,
      detail: [],
      action: { kind: "mount", device: dev.esp, target: `${target}/efi`, fs: "vfat" },
    });
  }
  add({
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
  });
  const pfiles = portageFiles(spec);
  // A system image carries its repository; /etc/portage is still the host's.
  add({
    id: "portage",
    group: "install",
    title: opts.deploy ? "/etc/portage" : "repository snapshot and /etc/portage",
    detail: [
      ...(opts.deploy ? [] : ["snapshot -> /var/db/repos/gentoo"]),
      ...pfiles.map((f) => f.path),
    ],
    action: {
      kind: "portage",
      target,
      files: pfiles,
      binhost: spec.portage.binhost,
      ...(opts.deploy ? { snapshot: false } : {}),
    },
  });
  add({
    id: "chroot-mounts",
    group: "install",
    title: "chroot mounts",
    detail: [
      "proc; rbind+rslave sys, dev; bind+slave run; resolv.conf dereferenced; /dev/shm",
      ...(spec.firmware === "uefi" ? ["efivarfs"] : []),
    ],
    action: { kind: "chroot-mounts", target, efivarfs: spec.firmware === "uefi" },
  });

  const sfiles = systemFiles(spec);
  add({
    id: "system-files",
    group: "configure",
    title: "hostname, locale, keymap, timezone files",
    detail: sfiles.map((f) => f.path),
    action: { kind: "write-files", target, files: sfiles },
  });
  const scmds = systemCommands(spec);
  add({
    id: "system-config",
    group: "configure",
    title: "profile, timezone, locales",
    detail: scmds.map((c) => c.join(" ")),
    action: { kind: "chroot-run", target, commands: scmds },
  });
  // After the profile and getuto (emerge needs both), before the network is
  // enabled (OpenRC's DHCP service comes with net-misc/dhcpcd).
  const lacks = stage3Lacks(spec);
  add({
    id: "system-packages",
    group: "configure",
    title: `emerge what the stage3 lacks: ${lacks.map((p) => p.atom).join(" ")}`,
    detail: [
      ...lacks.map((p) => `${p.atom}: ${p.why}`),
      emergeInstallArgv(
        spec,
        lacks.map((p) => p.atom),
      ).join(" "),
    ],
    action: { kind: "emerge", target, atoms: lacks.map((p) => p.atom) },
  });
  add({
    id: "fstab",
    group: "configure",
    title: "fstab by UUID",
    detail: [
      `/ ${dev.root}`,
      ...(dev.esp ? [`/efi ${dev.esp}`] : []),
      `/home ${dev.home}`,
      ...(dev.swap ? [`swap ${dev.swap}`] : []),
    ],
    action: {
      kind: "fstab",
      target,
      root: { device: dev.root, fs: spec.rootfs },
      ...(dev.esp ? { esp: { device: dev.esp } } : {}),
      home: { device: dev.home, fs: dev.homeFs, options: spec.home.options },
      ...(dev.swap ? { swap: { device: dev.swap } } : {}),
    },
  });
  add({
    id: "network-files",
    group: "configure",
    title: `network (${spec.init}, ${spec.network.mode}) on ${network.ifname}, the NIC with MAC ${network.mac}`,
    detail: [...network.files.map((f) => f.path), ...network.commands.map((c) => c.join(" "))],
    action: { kind: "write-files", target, files: network.files },
  });
  add({
    id: "network-enable",
    group: "configure",
    title: "enable networking",
    detail: [],
    action: { kind: "chroot-run", target, commands: network.commands },
  });
  add({
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
  });
  add({
    id: "ssh",
    group: "configure",
    title: `sshd enabled, ${spec.keepSshHostKeys ? "kept" : "fresh"} host keys`,
    detail: [],
    action: { kind: "ssh", target, keepHostKeys: spec.keepSshHostKeys, init: spec.init },
  });
  add({
    id: "machine-id",
    group: "configure",
    title: "fresh machine-id",
    detail: [],
    action: { kind: "machine-id", target, init: spec.init },
  });

  add({
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
  });
  add({
    id: "bootloader",
    group: "boot",
    title:
      spec.firmware === "uefi" ? `GRUB (UEFI) on ${dev.esp}` : `GRUB (BIOS) on ${dev.disk.path}`,
    device: spec.firmware === "uefi" ? dev.esp : dev.disk.path,
    detail:
      spec.firmware === "uefi"
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
  });

  add({
    id: "first-boot",
    group: "finish",
    title: "phase-2 first-boot hook",
    detail: [],
    action: { kind: "first-boot", target },
  });
  add({
    id: "rotate-token",
    group: "finish",
    title: "rotate to the phase-2 token; store it, the server URL and this binary",
    detail: [],
    action: { kind: "rotate-token", target },
  });
  add({
    id: "unmount",
    group: "finish",
    title: `unmount everything under ${target}`,
    detail: [],
    action: { kind: "unmount", target },
  });
  return steps;
}

/** The tree line saying what a format step checks before it writes. */
function checked(id: PartIdentity, containers = false): string {
  return `checked first: still ${describePartIdentity(id)}${containers ? "; no LUKS, LVM or RAID signature on it" : ""}`;
}
