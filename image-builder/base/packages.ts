// What the RAM image's base layer holds. The list is an input of the base
// layer's cache key: changing it rebuilds the base.

/** Debian suite and mirror the base is built from (issue #5: Debian stable, trixie). */
export const SUITE = "trixie";
export const MIRROR = "http://deb.debian.org/debian";

/**
 * Packages on top of mmdebstrap's `minbase` (which is essential + apt).
 * Recommends are not installed (mmdebstrap's default), so each tool is named.
 */
export const PACKAGES: readonly string[] = [
  // kernel; busybox is the init (busybox init + inittab: boots in a fraction
  // of systemd's time and size, see docs/IMAGE.md) and the rescue toolbox
  "linux-image-amd64",
  "kmod",
  "busybox",
  // remote access; python3 so Ansible can manage a machine booted in `rescue`
  "openssh-server",
  // satisfies openssh-server's "systemd | systemd-standalone-sysusers" without systemd
  "systemd-standalone-sysusers",
  "python3",
  // disks and filesystems
  "gdisk",
  "parted",
  "fdisk",
  "e2fsprogs",
  "xfsprogs",
  "btrfs-progs",
  "dosfstools",
  "util-linux",
  // archives and verification
  "zstd",
  "xz-utils",
  "gpg",
  "gpgv",
  // network
  "curl",
  "ca-certificates",
  "iproute2",
  "dhcpcd-base",
  "netbase",
  // bootloaders, installed onto a target from outside its chroot when needed
  "grub-pc-bin",
  "grub-efi-amd64-bin",
  "grub-common",
  "grub2-common", // grub-install, grub-mkconfig
  "efibootmgr",
  "kexec-tools",
  // small comforts in a rescue shell
  "procps",
  "less",
];
