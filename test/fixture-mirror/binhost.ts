// The fixture's ebuild repository and signed binhost, built by real Portage
// inside a copy of a fixture stage3 (so the same Portage and python that
// targets run also made the packages):
//   1. distfiles: each ebuild's Debian packages unpacked (dpkg-deb -x) into
//      ${P}/ and tarred as ${P}-debian.tar (fetch-restricted, never served);
//   2. `ebuild ... manifest` writes each Manifest; `ebuild ... package` builds
//      one gpkg per entry of BINPKGS[].builds, signed (FEATURES=binpkg-signing)
//      with the fixture's key, and keeps Portage's Packages index;
//   3. egencache writes metadata/md5-cache, as Gentoo's snapshots carry.
// Out: the repository tree (for the snapshot) and the binhost folder.
import { createHash } from "node:crypto";
import { cp, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { BINPKGS, KERNEL_META, type Binpkg } from "./packages.ts";
import type { TestKey } from "./sign.ts";
import { packDir } from "./snapshot.ts";

const SRC = dirname(fileURLToPath(import.meta.url));
/** Where Gentoo publishes binary packages for the 23.0 x86-64 profiles. */
export const BINHOST_REL = "releases/amd64/binpackages/23.0/x86-64";
/**
 * The modules the fixture's kernel keeps (paths under kernel/): storage, file
 * systems, the NICs of VMs and common servers, USB/HID input, the network
 * stack. Gentoo's kernel carries all ~4,200; merging and dracut-ing them under
 * TCG took minutes per install (emerge + dracut of the kernel: 466 s with all,
 * 348 s with 851), and no test machine loads the rest.
 */
const KERNEL_KEEP = [
  "arch",
  "crypto",
  "lib",
  "block",
  ...["ext4", "jbd2", "mbcache.ko.xz", "xfs", "btrfs", "fat", "nls", "isofs", "fuse"].map(
    (f) => `fs/${f}`,
  ),
  ...["overlayfs", "efivarfs", "autofs", "squashfs", "binfmt_misc.ko.xz"].map((f) => `fs/${f}`),
  "drivers/block",
  ...["ahci", "libahci", "libata", "ata_piix", "ata_generic"].map((m) => `drivers/ata/${m}.ko.xz`),
  ...["scsi_mod", "scsi_common", "sd_mod", "sr_mod", "sg", "virtio_scsi"].map(
    (m) => `drivers/scsi/${m}.ko.xz`,
  ),
  "drivers/cdrom",
  "drivers/nvme",
  "drivers/md",
  "drivers/virtio",
  ...["virtio_net", "net_failover", "mii", "tun", "veth"].map((m) => `drivers/net/${m}.ko.xz`),
  "drivers/net/ethernet/intel",
  "drivers/net/ethernet/realtek",
  "drivers/net/phy",
  "drivers/usb/host",
  "drivers/usb/storage",
  "drivers/usb/core",
  "drivers/usb/common",
  "drivers/hid/hid.ko.xz",
  "drivers/hid/hid-generic.ko.xz",
  "drivers/hid/usbhid",
  "drivers/input/keyboard",
  "drivers/input/serio",
  "drivers/input/evdev.ko.xz",
  "net/ipv4",
  "net/ipv6",
  "net/packet",
  "net/core",
  "net/unix",
  "net/802",
  "net/llc",
];

/**
 * Not Gentoo's: documentation a stage3 strips, and Debian's kernel hook
 * folder (/etc/kernel/postinst.d: its dracut and update-grub hooks would run
 * beside installkernel's plugins; Gentoo has only the latter).
 */
const DROP = [
  "usr/share/doc",
  "usr/share/man",
  "usr/share/info",
  "usr/share/lintian",
  "usr/share/locale",
  "etc/kernel",
];

/** Deletes every module under `kernelDir` outside KERNEL_KEEP, then the folders left empty. */
async function pruneModules(kernelDir: string): Promise<void> {
  const kept = (rel: string) => KERNEL_KEEP.some((k) => rel === k || rel.startsWith(`${k}/`));
  const entries = await readdir(kernelDir, { recursive: true, withFileTypes: true });
  for (const e of entries.filter((d) => d.isFile())) {
    const rel = relative(kernelDir, join(e.parentPath, e.name));
    if (!kept(rel)) await rm(join(kernelDir, rel));
  }
  await execa("find", [kernelDir, "-mindepth", "1", "-type", "d", "-empty", "-delete"]);
}

interface DebEntry {
  name: string;
  version: string;
  arch: string;
}

export async function readDebManifest(file: string): Promise<Map<string, DebEntry>> {
  const m = new Map<string, DebEntry>();
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    const [name, version, arch] = line.trim().split(/\s+/);
    if (name && version && arch) m.set(name, { name, version, arch });
  }
  return m;
}

/** apt's cache file name: name_version_arch.deb with an epoch's ':' as %3a. */
const debFile = (d: DebEntry) => `${d.name}_${d.version.replace(/:/g, "%3a")}_${d.arch}.deb`;

/** The kernel image package behind KERNEL_META, and its module directory name. */
function kernelOf(debs: Map<string, DebEntry>): { deb: DebEntry; kv: string; pv: string } {
  const deb = [...debs.values()].find(
    (d) => d.name.startsWith("linux-image-") && d.name !== KERNEL_META,
  );
  if (!deb)
    throw new Error(`binhost: no linux-image package behind ${KERNEL_META} in the manifest`);
  const kv = deb.name.slice("linux-image-".length); // 6.12.117+deb13-amd64
  const pv = /^(\d+\.\d+(?:\.\d+)?)/.exec(kv)?.[1];
  if (!pv) throw new Error(`binhost: cannot read a kernel version from ${deb.name}`);
  return { deb, kv, pv };
}

/** Ebuild path in the built repository (the kernel template named after its version). */
function ebuildPath(b: Binpkg, pv: string): string {
  return b.ebuild.replace(/-KVER\.ebuild\.in$/, `-${pv}.ebuild`);
}

/** ${P}: the ebuild file's name without revision and suffix. */
function pOf(ebuild: string): string {
  return basename(ebuild, ".ebuild").replace(/-r\d+$/, "");
}

async function makeDistfile(
  b: Binpkg,
  p: string,
  debs: DebEntry[],
  aptCache: string,
  work: string,
  distdir: string,
): Promise<void> {
  const top = join(work, p);
  await rm(top, { recursive: true, force: true });
  await mkdir(top, { recursive: true });
  for (const d of debs) await execa("dpkg-deb", ["-x", join(aptCache, debFile(d)), top]);
  for (const d of DROP) await rm(join(top, d), { recursive: true, force: true });
  if (b.ebuild.startsWith("sys-kernel/gentoo-kernel-bin/")) {
    for (const kdir of await readdir(join(top, "usr/lib/modules")))
      await pruneModules(join(top, "usr/lib/modules", kdir, "kernel"));
  }
  await packDir(work, p, join(distdir, `${p}-debian.tar`));
  await rm(top, { recursive: true, force: true });
}

/** Runs `cmd` inside `root` with proc, dev and devpts mounted; unmounts whatever happens. */
async function inChroot(root: string, script: string, env: Record<string, string> = {}) {
  const mounts: string[] = [];
  const mount = async (args: string[], at: string) => {
    await mkdir(join(root, at), { recursive: true });
    await execa("mount", [...args, join(root, at)]);
    mounts.unshift(join(root, at));
  };
  try {
    await mount(["-t", "proc", "proc"], "proc");
    await mount(["--bind", "/dev"], "dev");
    await mount(["-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts"], "dev/pts");
    await execa("chroot", [root, "/bin/bash", "-euo", "pipefail", "-c", script], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LC_ALL: "C.UTF-8", ...env },
      extendEnv: false,
      stdout: "inherit",
      stderr: "inherit",
    });
  } finally {
    for (const m of mounts) await execa("umount", ["-l", m], { reject: false });
  }
}

const MAKE_CONF = (fpr: string) => `# fixture binhost builder (never shipped in a stage3)
COMMON_FLAGS="-O2 -pipe"
# No sandbox binary here (Gentoo's sys-apps/sandbox is not in Debian); the
# files come prebuilt, so stripping and the multilib layout check do not apply.
FEATURES="-sandbox -usersandbox -multilib-strict -binpkg-dostrip binpkg-signing gpg-keepalive"
BINPKG_GPG_SIGNING_GPG_HOME="/root/binpkg-signing"
BINPKG_GPG_SIGNING_KEY="${fpr}"
`;

/**
 * The distfiles as a Gentoo mirror holds them (GLEP 75): distfiles/layout.conf
 * and distfiles/<first byte of BLAKE2B(name)>/<name>. The server's mirror
 * serves them checked against the snapshot's Manifests (server/mirror/distfiles.ts).
 */
async function publishDistfiles(distdir: string, out: string): Promise<void> {
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "layout.conf"), "[structure]\n0=filename-hash BLAKE2B 8\n");
  for (const name of (await readdir(distdir)).sort()) {
    if (name.startsWith(".")) continue;
    const bucket = createHash("blake2b512").update(name).digest("hex").slice(0, 2);
    await mkdir(join(out, bucket), { recursive: true });
    await rename(join(distdir, name), join(out, bucket, name));
  }
}

export interface BinhostResult {
  /** The repository with Manifests and md5-cache, for the snapshot. */
  repo: string;
  /** Built gpkg files: cpv and USE of each (from the Packages index). */
  packages: number;
}

/**
 * Builds the repository and the binhost. `builder` is a throwaway copy of a
 * fixture stage3 root; `outBinhost` receives Packages, Packages.gz and the
 * gpkg tree; the repository is left at `<work>/repo`.
 */
export async function buildBinhost(opts: {
  builder: string;
  work: string;
  aptCache: string;
  debManifest: string;
  key: TestKey;
  outBinhost: string;
  /** Receives the distfiles in Gentoo's mirror layout (filename-hash BLAKE2B 8, layout.conf). */
  outDistfiles: string;
}): Promise<BinhostResult> {
  const { builder, work, aptCache, key } = opts;
  const debs = await readDebManifest(opts.debManifest);
  const kernel = kernelOf(debs);
  const repo = join(builder, "var/db/repos/gentoo");
  const distdir = join(builder, "var/cache/distfiles");
  await rm(repo, { recursive: true, force: true });
  await cp(join(SRC, "repo"), repo, { recursive: true });
  await mkdir(distdir, { recursive: true });
  const tpl = BINPKGS.find((b) => b.ebuild.endsWith(".ebuild.in"));
  if (tpl) {
    const text = await readFile(join(repo, tpl.ebuild), "utf8");
    await writeFile(join(repo, ebuildPath(tpl, kernel.pv)), text.replace(/@KV_FULL@/g, kernel.kv));
    await rm(join(repo, tpl.ebuild));
  }
  for (const b of BINPKGS) {
    if (b.debs.length === 0) continue;
    const entries = b.debs.map((n) => {
      const d = n === KERNEL_META ? kernel.deb : debs.get(n);
      if (!d) throw new Error(`binhost: ${b.ebuild}: Debian package ${n} is not in the manifest`);
      return d;
    });
    await makeDistfile(b, pOf(ebuildPath(b, kernel.pv)), entries, aptCache, work, distdir);
  }
  // Not the agent's sockets (S.gpg-agent*): only the keys travel.
  await cp(key.home, join(builder, "root/binpkg-signing"), {
    recursive: true,
    filter: (src) => !basename(src).startsWith("S."),
  });
  await writeFile(join(builder, "etc/portage/make.conf"), MAKE_CONF(key.fingerprint));
  const steps = ["getuto"];
  for (const b of BINPKGS) {
    const e = `/var/db/repos/gentoo/${ebuildPath(b, kernel.pv)}`;
    steps.push(`ebuild ${e} manifest`);
    for (const vars of b.builds) {
      const env = Object.entries(vars)
        .map(([k, v]) => `${k}='${v}'`)
        .join(" ");
      steps.push(`env ${env} ebuild ${e} clean package`);
    }
  }
  steps.push("egencache --update --repo gentoo --jobs 2");
  await inChroot(builder, steps.join("\n"));
  const pkgdir = join(builder, "var/cache/binpkgs");
  await mkdir(dirname(opts.outBinhost), { recursive: true });
  await rename(pkgdir, opts.outBinhost);
  await publishDistfiles(distdir, opts.outDistfiles);
  const index = await readFile(join(opts.outBinhost, "Packages"), "utf8");
  const out = join(work, "repo");
  await rm(out, { recursive: true, force: true });
  await rename(repo, out);
  return { repo: out, packages: (index.match(/^CPV: /gm) ?? []).length };
}
