// What goes into each fixture stage3 (Debian trixie package names).
// BIOS and UEFI GRUB both work from the -bin packages + grub2-common;
// grub-pc and grub-efi-amd64 themselves conflict, so neither is installed.

export const SUITE = "trixie";
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";

const COMMON = [
  "linux-image-amd64",
  "initramfs-tools",
  "udev", // initramfs-tools needs it to find root by UUID
  "kmod",
  "grub-pc-bin",
  "grub-efi-amd64-bin",
  "grub2-common",
  "efibootmgr",
  "openssh-server",
  "e2fsprogs",
  "locales",
  "tzdata",
  "passwd",
  "login",
  "iproute2",
  "procps",
  "sudo",
  "xz-utils",
];

export const VARIANTS: Record<string, readonly string[]> = {
  openrc: [...COMMON, "openrc", "sysvinit-core", "dhcpcd-base"],
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
