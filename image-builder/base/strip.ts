// What leaves the raw root before it is packed. Every byte of the image
// crosses the network on every boot, so anything a RAM installer or a rescue
// shell does not use goes. Pure rules; `applyStrip` is the thin I/O.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

/**
 * Globs (bash extglob-free, relative to the root) removed after mmdebstrap.
 * Each says why; kernel modules are pruned separately (modules.ts).
 */
export const STRIP_GLOBS: ReadonlyArray<readonly [glob: string, why: string]> = [
  ["boot/*", "the kernel travels beside the initrd, not inside it"],
  ["etc/ssh/ssh_host_*", "host keys are per machine: generated at boot, never shipped"],
  ["etc/machine-id", "per machine"],
  [
    "etc/resolv.conf",
    "the build host's resolver (mmdebstrap copies it in); DHCP writes the image's",
  ],
  ["var/lib/dbus/machine-id", "per machine"],
  ["var/cache/*", "apt and debconf caches"],
  ["var/lib/apt/lists/*", "package lists (mmdebstrap already cleans; belt and braces)"],
  ["var/log/*", "build-time logs"],
  ["usr/lib/x86_64-linux-gnu/libicu*", "ICU (37 MB) is only used by xfs_scrub"],
  ["usr/sbin/xfs_scrub*", "needs ICU; mkfs.xfs and xfs_repair stay"],
  ["usr/lib/python3.*/test", "CPython's own test suite"],
  ["usr/lib/python3.*/idlelib", "GUI"],
  ["usr/lib/python3.*/tkinter", "GUI"],
  ["usr/lib/python3.*/turtledemo", "GUI"],
  ["usr/lib/python3.*/ensurepip", "no pip in a RAM image"],
  ["usr/lib/python3.*/pydoc_data", "docs"],
  ["usr/share/doc/*/changelog*", "docs (copyright files stay)"],
  ["usr/share/common-licenses", "kept per package in usr/share/doc/*/copyright"],
  ["usr/share/grub/themes", "graphical boot menus are drawn by the installed system's grub"],
  ["usr/lib/modules/*/build", "dangling link to kernel headers"],
  ["usr/lib/modules/*/source", "dangling link to kernel sources"],
];

/**
 * glibc charset converters (8 MB): only the DOS code pages mkfs.fat and
 * fatlabel convert labels through, plus Latin-1/-15, are kept.
 */
export const GCONV_KEEP: readonly string[] = [
  "gconv-modules",
  "gconv-modules.d",
  "gconv-modules.cache",
  "IBM437.so",
  "IBM850.so",
  "ISO8859-1.so",
  "ISO8859-15.so",
];

/** Directories whose __pycache__ trees go: Python rebuilds them in RAM when needed. */
export const PYCACHE_UNDER = "usr/lib/python3";

/** Removes the STRIP_GLOBS, extra gconv modules and __pycache__ from `root` (a hard-link copy). */
export async function applyStrip(root: string): Promise<void> {
  const script = [
    "set -euo pipefail",
    "shopt -s nullglob dotglob",
    'cd "$1"',
    ...STRIP_GLOBS.map(([g]) => `rm -rf -- ${g}`),
    "for f in usr/lib/x86_64-linux-gnu/gconv/*; do",
    `  case "\${f##*/}" in ${GCONV_KEEP.join("|")}) ;; *) rm -rf -- "$f" ;; esac`,
    "done",
    `find ${PYCACHE_UNDER}* -depth -type d -name __pycache__ -exec rm -rf {} +`,
  ].join("\n");
  try {
    await execa("bash", ["-c", script, "strip", root]);
  } catch (err) {
    throw new Error(`strip: removing unneeded files from ${root} failed`, { cause: err });
  }
  // The divert stand-in from older builds, if present, must not ship.
  await rm(join(root, "usr/sbin/update-initramfs.distrib"), { force: true });
}
