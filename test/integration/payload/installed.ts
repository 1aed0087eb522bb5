// What real Portage and the payload left in an installed root, read from a
// mount of it (never through the root's own symlinks on the host). Shared by
// the installer tests.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The installed packages Portage recorded: "cat/pn" -> its /var/db/pkg/<cat>/<pf> directory. */
export function vdb(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const db = join(root, "var/db/pkg");
  if (!existsSync(db)) return out;
  for (const cat of readdirSync(db)) {
    for (const pf of readdirSync(join(db, cat))) {
      const pn = /^(.+?)-\d[^-]*(?:-r\d+)?$/.exec(pf)?.[1];
      if (pn) out.set(`${cat}/${pn}`, join(db, cat, pf));
    }
  }
  return out;
}

/** One field of an installed package's /var/db/pkg entry (USE, KEYWORDS, LICENSE, ...). */
export function vdbField(root: string, pkg: string, field: string): string {
  const dir = vdb(root).get(pkg);
  if (!dir)
    throw new Error(
      `${pkg} is not installed (/var/db/pkg has ${[...vdb(root).keys()].join(", ")})`,
    );
  return readFileSync(join(dir, field), "utf8").trim();
}

/** The eselect stand-in's calls (the one stand-in the fixture keeps). */
export function eselectCalls(root: string): string[][] {
  return readFileSync(join(root, "var/log/automagic-standins.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { tool: string; argv: string[] })
    .filter((c) => c.tool === "eselect")
    .map((c) => c.argv);
}

/** Lines of a file in the root; "" when it is missing. */
export const readIn = (root: string, p: string): string =>
  existsSync(join(root, p)) ? readFileSync(join(root, p), "utf8") : "";

/** "cat/pn" of every gpkg in a mirror cache (server/mirror keeps the binhost's layout). */
export function gpkgsServed(cacheDir: string): Set<string> {
  const out = new Set<string>();
  const base = join(cacheDir, "releases/amd64/binpackages");
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".gpkg.tar")) out.add(p.split("/").slice(-3, -1).join("/"));
    }
  };
  walk(base);
  return out;
}

/** make.conf, binrepos.conf and getuto's keyring: the portage step pointed at the server. */
export function assertPortageSetup(
  root: string,
  want: { mirrorUrl: string; binhostUrl: string; grubPlatform: "pc" | "efi-64" },
): void {
  const makeConf = readIn(root, "etc/portage/make.conf");
  assert.match(makeConf, new RegExp(`^GRUB_PLATFORMS="${want.grubPlatform}"$`, "m"));
  assert.match(
    makeConf,
    new RegExp(`^GENTOO_MIRRORS="${want.mirrorUrl.replace(/\/+$/, "")}"$`, "m"),
    "distfiles come through the test server's mirror",
  );
  const sync = /^sync-uri = (.*)$/m.exec(readIn(root, "etc/portage/binrepos.conf/gentoo.conf"));
  assert.equal(sync?.[1], want.binhostUrl, "binrepos.conf sync-uri is the spec's binhostUrl");
  assert.ok(
    existsSync(join(root, "etc/portage/gnupg")) &&
      statSync(join(root, "etc/portage/gnupg")).isDirectory(),
    "getuto made Portage's binary-package keyring /etc/portage/gnupg",
  );
}

/**
 * gentoo-kernel-bin's pkg_postinst ran installkernel: dracut's initramfs
 * beside the kernel in /boot, and (installkernel[grub]) a grub.cfg whose
 * entry boots that kernel and initramfs with root=UUID=.
 */
export function assertKernelAndGrub(root: string, rootUuid: string): void {
  assert.ok(vdb(root).has("sys-kernel/gentoo-kernel-bin"), "gentoo-kernel-bin merged");
  assert.ok(vdb(root).has("sys-kernel/dracut"), "dracut merged (installkernel[dracut])");
  const ik = vdbField(root, "sys-kernel/installkernel", "USE").split(/\s+/);
  assert.ok(ik.includes("grub") && ik.includes("dracut"), `installkernel USE: ${ik.join(" ")}`);
  const boot = readdirSync(join(root, "boot"));
  const kernel = boot.find((f) => /^vmlinuz-/.test(f));
  assert.ok(kernel, `a kernel in /boot (${boot.join(", ")})`);
  const kv = kernel.slice("vmlinuz-".length);
  assert.ok(
    boot.includes(`initramfs-${kv}.img`),
    `dracut's initramfs-${kv}.img in /boot (${boot.join(", ")})`,
  );
  // 10-automagic-compress.conf reached dracut: zstd after any early-microcode cpio.
  const magic = execFileSync("chroot", [
    root,
    "/bin/sh",
    "-c",
    `/usr/lib/dracut/skipcpio /boot/initramfs-${kv}.img | head -c 4 | od -An -tx1`,
  ])
    .toString()
    .trim();
  assert.equal(magic, "28 b5 2f fd", `initramfs-${kv}.img is zstd-compressed`);
  const cfg = readIn(root, "boot/grub/grub.cfg");
  assert.match(
    cfg,
    new RegExp(`^\\s*linux\\s+\\S*/vmlinuz-${esc(kv)} .*root=UUID=${rootUuid}`, "m"),
  );
  assert.match(cfg, new RegExp(`^\\s*initrd\\s+\\S*/initramfs-${esc(kv)}\\.img`, "m"));
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
