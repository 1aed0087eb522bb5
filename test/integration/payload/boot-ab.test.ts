// The bootloader step under layout ab with real GRUB on a loop disk (BIOS,
// Debian's grub-pc-bin): GPT with bios_grub, automagic-boot and two slots.
// Each slot's root is a minimal tree on its ext4 with the host's /usr bound
// in (grub-install, grub-mkconfig, grub-editenv run in the chroot as the
// payload runs them) and a stand-in kernel file. Slot a is installed first
// (the default), then slot b (a trial); then SeaBIOS in QEMU boots the disk:
// GRUB from the shared partition counts the trial down on the real disk,
// says so on the serial port and hands over to slot b's own grub.cfg.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { bootloader } from "../../../payload/steps/boot.ts";
import { chrootMounts, unmountAll } from "../../../payload/steps/chroot.ts";
import { renderSharedGrubCfg, type Slot } from "../../../payload/render/grub-ab.ts";
import { parseGrubEnv } from "../../../payload/render/grubenv.ts";
import { execaRunner } from "../../../payload/run/runner.ts";
import type { RunContext } from "../../../payload/run/context.ts";
import type { Action, Step } from "../../../payload/plan/types.ts";
import { parseInstallSpec } from "../../../payload/spec/schema.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";
import { requireTool } from "../../lib/tools.ts";
import { attachLoop, blkidUuid } from "./loopdisk.ts";

for (const t of [
  "debugfs",
  "losetup",
  "sgdisk",
  "mkfs.ext4",
  "partx",
  "chroot",
  "grub-install",
  "qemu-system-x86_64",
])
  requireTool(t);

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const CMDLINE = "console=tty0 console=ttyS0,115200";
const spec = parseInstallSpec({
  ...minimalSpecInput(),
  layout: { mode: "ab", wipe: true, tries: 2 },
  kernel: { cmdline: CMDLINE },
});

const tmp = mkdtempSync("/var/tmp/am-boot-ab-");
const image = join(tmp, "disk.img");
sh("truncate", ["-s", "1G", image]);
sh("sgdisk", [
  "--new=1:0:+1M",
  "--typecode=1:ef02",
  "--new=2:0:+64M",
  "--typecode=2:8300",
  "--change-name=2:automagic-boot",
  "--new=3:0:+300M",
  "--typecode=3:8304",
  "--change-name=3:automagic-a",
  "--new=4:0:+300M",
  "--typecode=4:8304",
  "--change-name=4:automagic-b",
  image,
]);
const loop = attachLoop(image);
after(() => {
  loop.detach();
  rmSync(tmp, { recursive: true, force: true });
});
try {
  sh("partx", ["--add", loop.dev]);
} catch {
  /* the kernel already scanned them */
}
const dev = { shared: `${loop.dev}p2`, a: `${loop.dev}p3`, b: `${loop.dev}p4` };
sh("mkfs.ext4", ["-F", "-q", "-L", "automagic-boot", dev.shared]);
for (const s of ["a", "b"] as const) sh("mkfs.ext4", ["-F", "-q", "-L", `gentoo-${s}`, dev[s]]);

const step = (action: Action): Step => ({
  id: action.kind,
  group: "boot",
  title: action.kind,
  destructive: false,
  detail: [],
  action,
});

/** Installs GRUB for `slot` as the payload's bootloader step does, on a minimal root. */
async function install(slot: Slot, first: boolean): Promise<string[]> {
  const target = join(tmp, `target-${slot}`);
  const lines: string[] = [];
  const runner = execaRunner();
  const ctx = {
    spec,
    runner,
    mounts: [],
    createdLinks: [],
    uuids: new Map(),
    log: (l: string) => lines.push(l),
  } as unknown as RunContext;
  mkdirSync(target, { recursive: true });
  await runner.run(["mount", dev[slot], target]);
  ctx.mounts.push(target);
  try {
    for (const l of ["bin", "lib", "lib64", "sbin"]) symlinkSync(`usr/${l}`, join(target, l));
    mkdirSync(join(target, "usr"));
    await runner.run(["mount", "--bind", "/usr", join(target, "usr")]);
    await runner.run(["mount", "-o", "remount,bind,ro", join(target, "usr")]);
    ctx.mounts.push(join(target, "usr"));
    cpSync("/etc/grub.d", join(target, "etc/grub.d"), { recursive: true });
    // First in the slot's grub.cfg, before 00_header turns the output to gfxterm:
    // proves on the serial port that the shared grub.cfg handed over to this slot.
    writeFileSync(
      join(target, "etc/grub.d/00_abtest"),
      `#!/bin/sh\necho 'echo "SLOT-CFG ${slot}"'\n`,
      {
        mode: 0o755,
      },
    );
    mkdirSync(join(target, "tmp"), { mode: 0o1777 });
    // The kernel step makes /boot/grub before installkernel runs grub-mkconfig.
    mkdirSync(join(target, "boot/grub"), { recursive: true });
    // A stand-in kernel and initramfs (dracut's name): grub-mkconfig only lists
    // them; without an initramfs it would say root=/dev/... (no one to read UUID=).
    writeFileSync(join(target, "boot/vmlinuz-6.1.0-abtest"), "not a kernel\n");
    writeFileSync(join(target, "boot/initramfs-6.1.0-abtest.img"), "not an initramfs\n");
    const mounts = { kind: "chroot-mounts", target, efivarfs: false } as const;
    await chrootMounts(mounts, ctx, step(mounts));
    const action = {
      kind: "bootloader",
      target,
      firmware: "bios",
      disk: loop.dev,
      rootDevice: dev[slot],
      ab: { slot, shared: dev.shared, sharedFs: "ext4", tries: 2, first },
    } as Extract<Action, { kind: "bootloader" }>;
    await bootloader(action, ctx, step(action));
    const own = readFileSync(join(target, "boot/grub/grub.cfg"), "utf8");
    assert.match(own, new RegExp(`root=UUID=${blkidUuid(dev[slot])}`));
    assert.match(own, /vmlinuz-6\.1\.0-abtest/);
  } finally {
    await unmountAll(ctx, target);
  }
  return lines;
}

/** A file of an ext4 partition, read with debugfs (no mount: nothing can hold it busy). */
const cat = (part: string, file: string) =>
  execFileSync("debugfs", ["-R", `cat ${file}`, part], { stdio: ["ignore", "pipe", "ignore"] });
const sharedEnv = (part = dev.shared) => parseGrubEnv(cat(part, "/grub/grubenv"));

test("slot a, first install: GRUB on automagic-boot, automagic's grub.cfg, ab_default=a", async () => {
  const lines = await install("a", true);
  assert.ok(lines.includes("slot a is the default (first install)"), lines.join("\n"));
  assert.ok(cat(dev.shared, "/grub/i386-pc/core.img").length > 0);
  assert.equal(
    cat(dev.shared, "/grub/grub.cfg").toString(),
    renderSharedGrubCfg({ tries: 2, rootfs: "ext4", cmdline: CMDLINE }),
  );
  const env = sharedEnv();
  assert.equal(env.ab_default, "a");
  assert.equal(env.ab_trial, "");
  // GRUB's boot code in the MBR, its core in the BIOS boot partition; no GRUB in the slot.
  const mbr = readFileSync(image).subarray(0, 512);
  assert.ok(mbr.includes("GRUB"), "boot code in the MBR");
  assert.equal(cat(dev.a, "/boot/grub/i386-pc/core.img").length, 0, "no GRUB core in the slot");
});

test("slot b, a later install: on trial for 2 boots, ab_default stays a", async () => {
  await install("b", false);
  const env = sharedEnv();
  assert.deepEqual(
    [env.ab_default, env.ab_trial, env.ab_tries, env.ab_failed],
    ["a", "b", "2", ""],
  );
});

test("SeaBIOS boots the disk: GRUB counts the trial down on the disk and hands over to slot b", async () => {
  loop.detach();
  const vm = execa(
    "qemu-system-x86_64",
    [
      "-machine",
      "pc",
      "-m",
      "256",
      "-display",
      "none",
      "-serial",
      "stdio",
      "-monitor",
      "none",
      "-nodefaults",
      "-no-reboot",
      "-drive",
      `file=${image},format=raw,if=virtio`,
    ],
    { reject: false, timeout: 60_000, stdin: "ignore" },
  );
  let out = "";
  await new Promise<void>((resolve) => {
    vm.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      // slot b's own grub.cfg (grub-mkconfig's) runs: GRUB handed over.
      if (/SLOT-CFG [ab]/.test(out)) resolve();
    });
    void vm.finally(() => resolve());
  });
  vm.kill("SIGKILL");
  await vm;
  assert.match(out, /automagic: booting slot b \(default a, trial b, tries left 1\)/, out);
  assert.match(out, /SLOT-CFG b/, out);
  const again = attachLoop(image);
  try {
    try {
      sh("partx", ["--add", again.dev]);
    } catch {
      /* scanned */
    }
    const env = sharedEnv(`${again.dev}p2`);
    assert.deepEqual([env.ab_default, env.ab_trial, env.ab_tries], ["a", "b", "1"]);
  } finally {
    again.detach();
  }
});
