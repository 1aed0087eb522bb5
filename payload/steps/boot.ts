// boot: kernel through installkernel (dracut, grub) with an explicit command
// line, then GRUB for the firmware mode. grub.cfg is checked for root=UUID=
// before anything reports success.
import { access, readFile, readdir, symlink, mkdir } from "node:fs/promises";
import path from "node:path";
import type { Handler } from "../run/executor.ts";
import type { RunContext } from "../run/context.ts";
import { inChroot } from "../run/runner.ts";
import { orderWithEntryAfterCurrent, parseEfibootmgr, staleEntries } from "../render/efibootmgr.ts";
import { mountShared, setAbBoot } from "./boot-ab.ts";
import { readUuid } from "./disk.ts";
import { emergeInTarget } from "./emerge.ts";
import { inTarget, writeTargetFile } from "./target-fs.ts";

export const EFI_LABEL = "gentoo";

export function kernelCmdline(rootUuid: string, extra: string): string {
  return [`root=UUID=${rootUuid}`, extra.trim()].filter(Boolean).join(" ");
}

/**
 * dracut's own choice for zstd is level 15, the slowest step of every kernel
 * install and update (minutes under emulation); level 3, as mkinitcpio and
 * initramfs-tools choose, builds in a fraction of the time, unpacks as fast,
 * and costs a few per cent of /boot. A file of the owner's that sorts later wins.
 */
export const DRACUT_COMPRESS = {
  path: "/etc/dracut.conf.d/10-automagic-compress.conf",
  content: `# automagic: fast initramfs builds (dracut alone would use zstd -15)\ncompress="zstd -3 -q -T0"\n`,
  mode: 0o644,
};

export const kernel: Handler<"kernel"> = async (a, ctx) => {
  const cmdline = kernelCmdline(await readUuid(ctx, a.rootDevice), a.cmdline);
  // installkernel refuses to guess a command line inside a chroot (Handbook, "Kernel").
  await writeTargetFile(a.target, {
    path: "/etc/kernel/cmdline",
    content: cmdline + "\n",
    mode: 0o644,
  });
  await writeTargetFile(a.target, {
    path: "/etc/dracut.conf.d/00-installkernel.conf",
    content: `kernel_cmdline=" ${cmdline} "\n`,
    mode: 0o644,
  });
  await writeTargetFile(a.target, DRACUT_COMPRESS);
  // installkernel[grub] runs grub-mkconfig after installing the kernel, before
  // grub-install made /boot/grub; with the link grub.cfg says root=UUID= already.
  await mkdir(inTarget(a.target, "/boot/grub"), { recursive: true });
  await ensureByUuid(ctx, a.rootDevice);
  await emergeInTarget(ctx, a.target, [a.package]);
  const boot = await readdir(inTarget(a.target, "/boot"));
  if (!boot.some((f) => /^(vmlinuz|kernel)-/.test(f)))
    throw new Error(
      `${a.target}/boot has no kernel after emerge ${a.package} (${boot.join(", ") || "empty"})`,
    );
};

/** grub-mkconfig writes root=UUID= only when /dev/disk/by-uuid/<uuid> exists; without udev we make the link. */
async function ensureByUuid(ctx: RunContext, device: string): Promise<string> {
  const uuid = await readUuid(ctx, device);
  const link = `/dev/disk/by-uuid/${uuid}`;
  try {
    await access(link);
  } catch {
    // mkdir returns the first directory it had to create: removed again (if empty) after unmount.
    const made = await mkdir(path.dirname(link), { recursive: true });
    await symlink(device, link);
    ctx.createdLinks.push(link);
    if (made)
      ctx.createdLinks.push(
        `dir:${path.dirname(link)}`,
        ...(made !== path.dirname(link) ? [`dir:${made}`] : []),
      );
  }
  return uuid;
}

async function setGrubCmdline(target: string, extra: string): Promise<void> {
  const p = inTarget(target, "/etc/default/grub");
  const text = await readFile(p, "utf8").catch(() => "");
  const line = `GRUB_CMDLINE_LINUX="${extra.replace(/"/g, '\\"')}"`;
  const next = /^GRUB_CMDLINE_LINUX=.*$/m.test(text)
    ? text.replace(/^GRUB_CMDLINE_LINUX=.*$/m, line)
    : `${text.trimEnd()}\n${line}\n`;
  await writeTargetFile(target, { path: "/etc/default/grub", content: next, mode: 0o644 });
}

export const bootloader: Handler<"bootloader"> = async (a, ctx) => {
  const run = (cmd: string[]) => ctx.runner.run(inChroot(a.target, cmd), { onLine: ctx.log });
  const rootUuid = await ensureByUuid(ctx, a.rootDevice);
  await setGrubCmdline(a.target, ctx.spec.kernel.cmdline);
  // Layout ab: GRUB and its modules live on the shared partition, not in the slot.
  const ab = a.ab;
  const shared = ab ? await mountShared(ctx, a.target, a.firmware, ab) : undefined;
  if (ab) await ensureByUuid(ctx, ab.shared);
  const bootDir = shared ? [`--boot-directory=${shared}`] : [];
  if (a.firmware === "bios") {
    await run(["grub-install", "--target=i386-pc", ...bootDir, a.disk]);
  } else {
    if (!a.espDevice) throw new Error("UEFI bootloader without an ESP");
    await ensureByUuid(ctx, a.espDevice);
    // --no-nvram: we write the boot entry ourselves so netboot stays first.
    await run([
      "grub-install",
      "--target=x86_64-efi",
      "--efi-directory=/efi",
      ...bootDir,
      `--bootloader-id=${EFI_LABEL}`,
      "--no-nvram",
    ]);
    // The fallback path, for firmware that forgets or ignores NVRAM entries.
    await run([
      "grub-install",
      "--target=x86_64-efi",
      "--efi-directory=/efi",
      ...bootDir,
      "--removable",
      "--no-nvram",
    ]);
    await efiEntry(ctx, a.disk, a.espDevice);
  }
  await run(["grub-mkconfig", "-o", "/boot/grub/grub.cfg"]);
  const cfg = await readFile(inTarget(a.target, "/boot/grub/grub.cfg"), "utf8");
  if (!cfg.includes(`root=UUID=${rootUuid}`)) {
    throw new Error(
      `${a.target}/boot/grub/grub.cfg has no root=UUID=${rootUuid}: the installed system would not find its root`,
    );
  }
  if (ab && shared) await setAbBoot(ctx, a.target, shared, ab, run);
};

async function efiEntry(ctx: RunContext, disk: string, esp: string): Promise<void> {
  const r = ctx.runner;
  const before = parseEfibootmgr((await r.run(["efibootmgr"])).stdout);
  for (const n of staleEntries(before, EFI_LABEL))
    await r.run(["efibootmgr", "--quiet", "--bootnum", n, "--delete-bootnum"]);
  const part = /(\d+)$/.exec(esp)?.[1];
  if (!part) throw new Error(`${esp}: cannot tell its partition number`);
  const after = parseEfibootmgr(
    (
      await r.run([
        "efibootmgr",
        "--create",
        "--disk",
        disk,
        "--part",
        part,
        "--label",
        EFI_LABEL,
        "--loader",
        `\\EFI\\${EFI_LABEL}\\grubx64.efi`,
      ])
    ).stdout,
  );
  const ours = after.entries.find((e) => e.label === EFI_LABEL)?.num;
  if (!ours) throw new Error(`efibootmgr: no '${EFI_LABEL}' entry after --create`);
  const prev = before.order.filter((n) => !staleEntries(before, EFI_LABEL).includes(n));
  const order = orderWithEntryAfterCurrent(prev, ours, before.bootCurrent);
  await r.run(["efibootmgr", "--bootorder", order.join(",")]);
  const check = parseEfibootmgr((await r.run(["efibootmgr"])).stdout);
  if (!check.order.includes(ours) || (prev[0] && check.order[0] !== prev[0])) {
    throw new Error(
      `efibootmgr: BootOrder ${check.order.join(",")} lost the netboot entry ${prev[0] ?? ""} first or our ${ours}`,
    );
  }
}
