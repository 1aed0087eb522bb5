// The packed base layer, unpacked as the kernel would, still has working
// tools after stripping and module pruning: what the installer and a person
// in `rescue` rely on runs, and the drivers a server needs resolve.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { ensureBase, type BaseLayer } from "../../../image-builder/base/layer.ts";
import { DEFAULT_BASE_COMPRESSOR } from "../../../image-builder/compress.ts";
import { defaultPaths } from "../../../image-builder/paths.ts";
import { requireTool } from "../../lib/tools.ts";

let dir = "";
let base: BaseLayer;

const inRoot = (cmd: string) =>
  execa("chroot", [dir, "/bin/sh", "-c", cmd], { reject: false, all: true });

before(async () => {
  for (const t of ["cpio", "zstd", "chroot", "mmdebstrap"]) requireTool(t);
  base = await ensureBase(defaultPaths().cache, DEFAULT_BASE_COMPRESSOR, () => {});
  dir = await mkdtemp(join(tmpdir(), "automagic-stripped-"));
  await execa("bash", [
    "-c",
    'zstd -dc "$1" | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)',
    "x",
    base.initrd,
    dir,
  ]);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("no per-machine or build-host files ship", async () => {
  const r = await inRoot(
    "ls /etc/ssh/ssh_host_* /etc/resolv.conf /etc/machine-id /boot/* 2>/dev/null | wc -l",
  );
  assert.equal(r.all?.trim(), "0", "host keys, resolv.conf, machine-id and /boot are stripped");
});

test("installer and rescue tools run", { timeout: 120_000 }, async () => {
  const cmds = [
    "python3 -c 'import json, ssl, sqlite3, hashlib, subprocess; print(\"py ok\")'",
    "gpg --version | head -1",
    "gpgv --version | head -1",
    "curl --version | head -1",
    "sgdisk --version",
    "parted --version | head -1",
    "mkfs.ext4 -V 2>&1 | head -1",
    "mkfs.xfs -V",
    "mkfs.btrfs --version",
    "mkfs.fat --help 2>&1 | head -1",
    "grub-install --version",
    "ls /usr/lib/grub/i386-pc/boot.img /usr/lib/grub/x86_64-efi/normal.mod",
    "efibootmgr --version",
    "kexec --version",
    "zstd --version && xz --version | head -1",
    "/usr/sbin/sshd -V 2>&1 | head -1",
    "busybox --list | grep -qx init && busybox --list | grep -qx udhcpc && echo busybox ok",
  ];
  for (const c of cmds) {
    const r = await inRoot(c);
    assert.equal(r.exitCode, 0, `${c}: exit ${r.exitCode}\n${r.all}`);
  }
});

test("server NIC, disk and filesystem drivers resolve with their dependencies", async () => {
  const ver = base.root.kernelVersion;
  for (const m of [
    "virtio_net",
    "e1000",
    "e1000e",
    "igb",
    "ixgbe",
    "tg3",
    "r8169",
    "mlx5_core",
    "nvme",
    "ahci",
    "virtio_blk",
    "virtio_scsi",
    "sd_mod",
    "mpt3sas",
    "megaraid_sas",
    "usb_storage",
    "usbhid",
    "ext4",
    "xfs",
    "btrfs",
    "vfat",
    "nls_ascii", // vfat's default iocharset on Debian kernels
    "efivarfs",
    "dm_mod",
    "raid1",
  ]) {
    const r = await inRoot(`modprobe -n -S ${ver} ${m}`);
    assert.equal(r.exitCode, 0, `modprobe ${m}: ${r.all}`);
  }
  const gone = await inRoot(`modprobe -n -S ${ver} snd_hda_intel`);
  assert.notEqual(gone.exitCode, 0, "sound drivers are pruned");
});
