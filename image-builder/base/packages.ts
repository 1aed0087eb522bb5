// What the RAM image's base layer holds. The list is an input of the base
// layer's cache key: changing it rebuilds the base.

/** Debian suite and mirror the base is built from (issue #5: Debian stable, trixie). */
export const SUITE = "trixie";
export const MIRROR = "http://deb.debian.org/debian";
/** non-free-firmware: the firmware-* packages (Debian's own installer takes them from there too). */
export const COMPONENTS: readonly string[] = ["main", "non-free-firmware"];

/**
 * Firmware packages carrying the files kept NIC and disk drivers load
 * (firmware.ts keeps only those files): rtl_nic/ (r8169, r8152), bnx2/,
 * bnx2x/, tigon/ (tg3) and e100/ (firmware-misc-nonfree), intel/ice/ddp
 * (firmware-intel-misc), qed/ (qede).
 */
export const FIRMWARE_PACKAGES: readonly string[] = [
  "firmware-realtek",
  "firmware-bnx2",
  "firmware-bnx2x",
  "firmware-misc-nonfree",
  "firmware-intel-misc",
  "firmware-qlogic",
];

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
  ...FIRMWARE_PACKAGES,
];
