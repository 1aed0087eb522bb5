// A tiny ebuild-repository-shaped tree, packed like Gentoo's
// snapshots/gentoo-latest.tar.xz (one top directory `gentoo-YYYYMMDD/`).
// Just enough for the installer: repo_name, layout.conf, profiles.desc that
// `eselect profile set` checks, and a few categories.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

export const PROFILES = [
  "default/linux/amd64/23.0",
  "default/linux/amd64/23.0/systemd",
  "default/linux/amd64/23.0/desktop",
  "default/linux/amd64/23.0/desktop/systemd",
  "default/linux/amd64/23.0/no-multilib",
  "default/linux/amd64/23.0/no-multilib/systemd",
  "default/linux/amd64/23.0/hardened",
  "default/linux/amd64/23.0/hardened/systemd",
  "default/linux/amd64/23.0/split-usr",
];

const CATEGORIES = [
  "app-editors",
  "app-misc",
  "net-misc",
  "sys-apps",
  "sys-boot",
  "sys-kernel",
  "sys-libs",
  "virtual",
];

/** Builds the tree under `work` and packs it into `dest` (xz). */
export async function buildSnapshot(work: string, dest: string, stamp: string): Promise<void> {
  const top = `gentoo-${stamp.slice(0, 8)}`;
  const repo = join(work, top);
  const w = async (rel: string, text: string) => {
    await mkdir(join(repo, rel, ".."), { recursive: true });
    await writeFile(join(repo, rel), text);
  };
  await w("profiles/repo_name", "gentoo\n");
  await w(
    "metadata/layout.conf",
    "repo-name = gentoo\nmasters =\nthin-manifests = true\nsign-manifests = false\nprofile-formats = portage-2 profile-default-eapi profile-set\ncache-formats = md5-dict\n",
  );
  await w("profiles/profiles.desc", PROFILES.map((p) => `amd64\t\t${p}\t\tstable\n`).join(""));
  await w("profiles/categories", `${CATEGORIES.join("\n")}\n`);
  for (const p of PROFILES) await w(`profiles/${p}/eapi`, "5\n");
  for (const c of CATEGORIES)
    await w(`${c}/metadata.xml`, `<?xml version="1.0" encoding="UTF-8"?>\n<catmetadata/>\n`);
  await w(
    "sys-kernel/gentoo-kernel-bin/gentoo-kernel-bin-6.12.58.ebuild",
    "# fixture placeholder\nEAPI=8\n",
  );
  await w("sys-boot/grub/grub-2.12-r8.ebuild", "# fixture placeholder\nEAPI=8\n");
  await w("metadata/timestamp.chk", `${new Date().toUTCString()}\n`);
  await execa("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", work, "-cJf", dest, top]);
}
