// Packs the fixture's ebuild repository (built by binhost.ts: ebuilds,
// profiles, Manifests, metadata/md5-cache) like Gentoo's
// snapshots/gentoo-latest.tar.xz: one top directory `gentoo-YYYYMMDD/`.
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

/** Packs `repo` into `dest` (xz) under gentoo-<date of stamp>/, using `work` as scratch. */
export async function buildSnapshot(
  repo: string,
  work: string,
  dest: string,
  stamp: string,
  when: Date,
): Promise<void> {
  const top = `gentoo-${stamp.slice(0, 8)}`;
  await rm(join(work, top), { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await cp(repo, join(work, top), { recursive: true });
  await writeFile(join(work, top, "metadata/timestamp.chk"), `${when.toUTCString()}\n`);
  // emerge-webrsync reads the snapshot's age from timestamp.x: "<unix time> <date>".
  await writeFile(
    join(work, top, "metadata/timestamp.x"),
    `${Math.floor(when.getTime() / 1000)} ${when.toUTCString()}\n`,
  );
  await packDir(work, top, dest, "xz");
}

/** Tars `parent/top` as root-owned, sorted entries (the same bytes for the same tree); xz when asked. */
export async function packDir(
  parent: string,
  top: string,
  dest: string,
  compress?: "xz",
): Promise<void> {
  const mode = compress === "xz" ? "-cJf" : "-cf";
  await execa("tar", [
    "--numeric-owner",
    "--owner=0",
    "--group=0",
    "--sort=name",
    "-C",
    parent,
    mode,
    dest,
    top,
  ]);
}
