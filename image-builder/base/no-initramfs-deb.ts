// An empty package that Provides linux-initramfs-tool. The kernel package
// depends on "initramfs-tools | linux-initramfs-tool"; initramfs-tools would
// pull in udev + systemd (~45 MB) and build a 30+ MB initrd we never use —
// our image *is* the initramfs. This stand-in satisfies the dependency.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

export const NO_INITRAMFS_PACKAGE = "automagic-no-initramfs";

/** Pure: the DEBIAN/control text. */
export function noInitramfsControl(): string {
  return [
    `Package: ${NO_INITRAMFS_PACKAGE}`,
    "Version: 1",
    "Architecture: all",
    "Maintainer: automagic image-builder <root@localhost>",
    "Provides: linux-initramfs-tool",
    "Priority: optional",
    "Section: admin",
    "Description: stand-in initramfs tool for the automagic RAM image",
    " The automagic netboot image is itself the initramfs; no initrd is built",
    " when the kernel package is installed.",
    "",
  ].join("\n");
}

/** Builds the .deb into `workDir` and returns its path. */
export async function buildNoInitramfsDeb(workDir: string): Promise<string> {
  const pkgDir = join(workDir, NO_INITRAMFS_PACKAGE);
  await mkdir(join(pkgDir, "DEBIAN"), { recursive: true });
  await writeFile(join(pkgDir, "DEBIAN", "control"), noInitramfsControl());
  const deb = join(workDir, `${NO_INITRAMFS_PACKAGE}_1_all.deb`);
  try {
    await execa("dpkg-deb", ["--root-owner-group", "-Zxz", "-b", pkgDir, deb]);
  } catch (err) {
    throw new Error(`dpkg-deb: building ${deb} failed`, { cause: err });
  }
  return deb;
}
