// What goes into the fixture: the stage3 (Debian trixie package names) and
// the binhost (fixture ebuilds in repo/, each installing the files of some
// Debian packages). What a Gentoo stage3 holds, and so what is here, is
// written down with its sources in README.md.

export const SUITE = "trixie";
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";

/**
 * A stage3: @system of profiles/base/packages and profiles/default/linux/packages
 * (baselayout, shadow, coreutils, tar, xz, bzip2, gzip, wget, rsync, kmod,
 * procps, iproute2, e2fsprogs, less, patch, file, gawk, psmisc, kbd, an editor,
 * an ssh, a dev-manager, a service manager), plus Portage's own run-time needs
 * (python, gnupg for binary package signatures, openssl for getuto, zstd for
 * gpkg) and what catalyst adds for the Handbook (locales, tzdata).
 * No kernel, boot loader, efibootmgr, DHCP client, sudo, xfsprogs, btrfs-progs
 * or firmware: those come from the binhost (BINPKGS).
 */
const COMMON = [
  "udev",
  "kmod",
  "openssh-server",
  "e2fsprogs",
  "locales",
  "tzdata",
  "passwd",
  "login",
  "iproute2",
  "iputils-ping",
  "procps",
  "psmisc",
  "xz-utils",
  "bzip2",
  "zstd",
  "wget",
  "rsync",
  "file",
  "less",
  "patch",
  "gawk",
  "kbd",
  "nano",
  "cpio",
  "python3",
  "python-is-python3",
  "gnupg",
  "openssl",
];

export const VARIANTS: Record<string, readonly string[]> = {
  // udev and openssh-server want "systemd | systemd-standalone-sysusers": an
  // OpenRC stage3 has no systemd (dracut would put it into the initramfs,
  // which then switches root into systemd instead of /sbin/init).
  openrc: [...COMMON, "openrc", "sysvinit-core", "systemd-standalone-sysusers"],
  // Gentoo's sys-apps/systemd ships resolved and networkd; Debian splits resolved out.
  systemd: [...COMMON, "systemd-sysv", "systemd-resolved"],
};

/** dpkg path filters: a stage3 is lean, and locale-gen still needs /usr/share/i18n. */
export const DPKG_OPTS = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/doc/*",
  "path-exclude=/usr/share/locale/*",
  "path-include=/usr/share/locale/locale.alias",
  "path-exclude=/usr/share/lintian/*",
];

/** One fixture ebuild and the binary packages built from it. */
export interface Binpkg {
  /** Path of the ebuild in repo/ (the kernel's is a template, see KERNEL_META). */
  ebuild: string;
  /** Debian packages whose files make its distfile (none: it installs only files/). */
  debs: readonly string[];
  /** One binary package per entry, built with these variables (USE, GRUB_PLATFORMS). */
  builds: readonly Record<string, string>[];
}

/** Debian's meta package whose dependency names the kernel gentoo-kernel-bin packs. */
export const KERNEL_META = "linux-image-amd64";

export const BINPKGS: readonly Binpkg[] = [
  {
    ebuild: "sys-kernel/gentoo-kernel-bin/gentoo-kernel-bin-KVER.ebuild.in",
    debs: [KERNEL_META],
    builds: [{}],
  },
  {
    ebuild: "sys-kernel/installkernel/installkernel-57.ebuild",
    debs: [],
    builds: [{ USE: "dracut grub" }],
  },
  {
    ebuild: "sys-kernel/dracut/dracut-106.ebuild",
    debs: ["dracut", "dracut-core", "dracut-install"],
    builds: [{}],
  },
  {
    ebuild: "sys-boot/grub/grub-2.12-r8.ebuild",
    debs: [
      "grub-common",
      "grub2-common",
      "grub-pc-bin",
      "grub-efi-amd64-bin",
      "grub-efi-amd64-unsigned",
    ],
    builds: [{ GRUB_PLATFORMS: "pc" }, { GRUB_PLATFORMS: "efi-64" }],
  },
  { ebuild: "sys-boot/efibootmgr/efibootmgr-18-r1.ebuild", debs: ["efibootmgr"], builds: [{}] },
  { ebuild: "net-misc/dhcpcd/dhcpcd-10.1.0.ebuild", debs: ["dhcpcd-base"], builds: [{}] },
  {
    ebuild: "sys-kernel/linux-firmware/linux-firmware-20251125.ebuild",
    debs: ["firmware-linux-free"],
    builds: [{}],
  },
  {
    ebuild: "sys-firmware/intel-microcode/intel-microcode-20260925.ebuild",
    debs: ["intel-microcode", "iucode-tool"],
    builds: [{}],
  },
  { ebuild: "net-misc/chrony/chrony-4.6.1.ebuild", debs: ["chrony"], builds: [{}] },
  { ebuild: "sys-fs/xfsprogs/xfsprogs-6.13.0.ebuild", debs: ["xfsprogs"], builds: [{}] },
  {
    ebuild: "sys-fs/btrfs-progs/btrfs-progs-6.14.ebuild",
    debs: ["btrfs-progs"],
    builds: [{ USE: "convert" }, { USE: "-convert" }],
  },
  { ebuild: "app-admin/sudo/sudo-1.9.16_p2.ebuild", debs: ["sudo"], builds: [{}] },
  { ebuild: "app-editors/vim/vim-9.1.1230.ebuild", debs: ["vim-tiny", "vim-common"], builds: [{}] },
  {
    ebuild: "app-editors/neovim/neovim-0.10.4.ebuild",
    debs: ["neovim", "neovim-runtime", "lua-lpeg", "lua-luv"],
    builds: [{}],
  },
  { ebuild: "app-shells/zsh/zsh-5.9-r8.ebuild", debs: ["zsh", "zsh-common"], builds: [{}] },
];

/**
 * Dependencies of BINPKGS' Debian packages that no ebuild installs. Shared
 * libraries (lib*) and these few go into the stage3, where Gentoo's would
 * have arrived as the ebuilds' own dependencies (README: differences);
 * anything else unclaimed fails the build, so nothing is silently dropped.
 */
export const STAGE3_DEPS = ["dmsetup", "gettext-base", "libluajit-5.1-common"];
/** Debian-only helpers the ebuilds do without (kernel postinst glue, xfs_scrub_all's D-Bus, ...). */
export const IGNORED_DEPS = [
  "linux-base",
  "python3-dbus",
  "debianutils",
  // Debian's maintainer-script helpers (chrony's postinst); Portage runs none of them.
  "adduser",
  "ucf",
  "init-system-helpers",
];
/** Debian's archive areas: intel-microcode lives in non-free-firmware. */
export const COMPONENTS = ["main", "non-free-firmware"];
