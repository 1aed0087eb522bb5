// How one fixture stage3 is made: mmdebstrap + customize.sh, packed like
// catalyst packs a stage3, signed like Gentoo signs it. Everything that
// decides the bytes of the tree lives here or in the files this imports
// (build.ts only orchestrates, caches and locks, and is not hashed).
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { hashFile } from "../../shared/verify/hash.ts";
import { progressLine } from "../../server/app/progress-line.ts";
import { AUTOBUILDS } from "../../shared/verify/layout.ts";
import {
  BINPKGS,
  COMPONENTS,
  DEBIAN_MIRROR,
  DPKG_OPTS,
  IGNORED_DEPS,
  KERNEL_META,
  STAGE3_DEPS,
  SUITE,
  VARIANTS,
} from "./packages.ts";
import { clearsign, renderDigests, renderPointer, signDetached, type TestKey } from "./sign.ts";

const SRC = dirname(fileURLToPath(import.meta.url));

export type Timed = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** Where Gentoo's Portage and getuto sources are (../shared/vendor or an upstream clone). */
export interface GentooSources {
  portage: string;
  getuto: string;
}

/** Everything a variant's build needs besides its name. */
export interface VariantInputs {
  key: TestKey;
  tmp: string;
  stamp: string;
  when: Date;
  aptCache: string;
  pubkey: string;
  sources: GentooSources;
  /** Keep the unpacked root here (the binhost is built in a copy of it). */
  keepRoot?: string;
  /** Where binpkg-debs.sh writes "name version arch" of the ebuilds' Debian packages. */
  debManifest: string;
}

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

async function mmdebstrap(variant: string, root: string, inp: VariantInputs): Promise<void> {
  const { aptCache, pubkey, sources } = inp;
  const claimed = BINPKGS.flatMap((b) => b.debs);
  const pkgs = VARIANTS[variant] ?? [];
  await mkdir(aptCache, { recursive: true });
  await mkdir(dirname(root), { recursive: true }); // mmdebstrap wants the parent to exist
  const args = [
    "--mode=root",
    "--variant=minbase",
    `--components=${COMPONENTS.join(",")}`,
    "--format=directory",
    '--aptopt=APT::Install-Recommends "false"',
    `--include=${pkgs.join(",")}`,
    ...DPKG_OPTS.map((o) => `--dpkgopt=${o}`),
    // Keep downloaded .debs between builds (both variants share most of them).
    "--skip=essential/unlink",
    "--skip=download/empty",
    `--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
    `--setup-hook=sync-in ${aptCache} /var/cache/apt/archives/`,
    // The ebuilds' Debian packages land in the apt cache; their libraries in the stage3.
    `--customize-hook=bash ${join(SRC, "binpkg-debs.sh")} "$1" ${q(inp.debManifest)} ${q(claimed.join(" "))} ${q(STAGE3_DEPS.join(" "))} ${q(IGNORED_DEPS.join(" "))} ${KERNEL_META}`,
    `--customize-hook=sync-out /var/cache/apt/archives ${aptCache}`,
    `--customize-hook=rm -f "$1"/var/cache/apt/archives/*.deb`,
    `--customize-hook=bash ${join(SRC, "customize.sh")} "$1" ${variant} ${SRC} ${pubkey} ${q(sources.portage)} ${q(sources.getuto)}`,
    SUITE,
    root,
    DEBIAN_MIRROR,
  ];
  await execa("mmdebstrap", args, { stdout: "inherit", stderr: "inherit" });
}

/**
 * xz as Gentoo's stage3 is (.tar.xz), at preset 1 on every core: preset 6
 * took 163 s of a 10-minute fixture build for 7% smaller files, and the VM
 * unpacks the multi-block file just as fast (docs/PERFORMANCE.md "First run").
 */
export const XZ_ARGS = ["-T0", "-1"];

/** tar with numeric owners and xattrs (as catalyst makes stage3) | xz, with a progress line. */
async function packRoot(root: string, dest: string, variant: string): Promise<void> {
  const du = await execa("du", ["-sb", "--apparent-size", root]);
  const total = Number(du.stdout.split("\t")[0]) || undefined;
  const tar = execa(
    "tar",
    [
      "--numeric-owner",
      "--xattrs",
      "--xattrs-include=*.*",
      "--sort=name",
      "-C",
      root,
      "-cf",
      "-",
      ".",
    ],
    { stdout: "pipe", buffer: false },
  );
  const xz = execa("xz", [...XZ_ARGS, "-c"], { stdin: "pipe", stdout: { file: dest } });
  const line = progressLine(`fixture: ${variant}: tar | xz ${XZ_ARGS.join(" ")}`, process.stdout);
  let done = 0;
  tar.stdout.on("data", (c: Buffer) => {
    done += c.length;
    line.update(done, total);
  });
  tar.stdout.pipe(xz.stdin);
  await Promise.all([tar, xz]);
  line.end();
}

export async function buildVariant(timed: Timed, variant: string, inp: VariantInputs) {
  const { key, tmp, stamp, when } = inp;
  const root = join(tmp, "work", `root-${variant}`);
  const name = `stage3-amd64-${variant}-${stamp}.tar.xz`;
  const dir = join(tmp, AUTOBUILDS, stamp);
  await mkdir(dir, { recursive: true });
  const tarball = join(dir, name);
  await timed(`${variant}: mmdebstrap + customize`, () => mmdebstrap(variant, root, inp));
  await timed(`${variant}: tar | xz ${XZ_ARGS.join(" ")}`, () => packRoot(root, tarball, variant));
  if (inp.keepRoot) await rename(root, inp.keepRoot);
  else await rm(root, { recursive: true, force: true });
  await timed(`${variant}: sign`, async () => {
    const d = await hashFile(tarball);
    await signDetached(key, tarball);
    await clearsign(
      key,
      renderDigests([{ name, sha512: d.sha512, blake2b: d.blake2b }]),
      `${tarball}.DIGESTS`,
    );
    await clearsign(
      key,
      renderPointer(`${stamp}/${name}`, d.bytes, when),
      join(tmp, AUTOBUILDS, `latest-stage3-amd64-${variant}.txt`),
    );
  });
  return { variant, file: `${AUTOBUILDS}/${stamp}/${name}`, bytes: (await stat(tarball)).size };
}
