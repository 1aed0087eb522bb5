// The bootloader step under layout ab (docs/INSTALLER.md "A/B boot state"):
// GRUB goes into the shared partition (automagic-boot on BIOS, the ESP on
// UEFI), its grub.cfg is automagic's (render/grub-ab.ts), and the written
// slot becomes the default (first install) or the trial (any later one),
// set with the new system's own grub-editenv once its grub.cfg checked out.
import { access, mkdir } from "node:fs/promises";
import type { RunContext } from "../run/context.ts";
import { showCommand } from "../../shared/command-error.ts";
import {
  afterInstall,
  editenvArgv,
  renderSharedGrubCfg,
  SHARED_GRUB_CFG,
  SHARED_GRUBENV,
  sharedMount,
} from "../render/grub-ab.ts";
import type { Action } from "../plan/types.ts";
import { mountsUnder } from "./chroot.ts";
import { inTarget, writeTargetFile } from "./target-fs.ts";

/** The bootloader action's `ab` (plan/types.ts). */
export type AbBoot = NonNullable<Extract<Action, { kind: "bootloader" }>["ab"]>;

type Run = (cmd: string[]) => Promise<unknown>;

/**
 * The shared partition mounted where the installed system mounts it (the
 * ESP is at /efi already; automagic-boot is mounted here on BIOS); returns
 * that directory as the chroot sees it, GRUB's --boot-directory.
 */
export async function mountShared(
  ctx: RunContext,
  target: string,
  firmware: "bios" | "uefi",
  ab: AbBoot,
): Promise<string> {
  const dir = sharedMount(firmware);
  const at = inTarget(target, dir);
  if ((await mountsUnder(at)).includes(at)) return dir;
  await mkdir(at, { recursive: true });
  await ctx.runner.run(["mount", "-t", ab.sharedFs, ab.shared, at]);
  ctx.mounts.push(at);
  return dir;
}

/** The shared grub.cfg, then the boot state for the slot just written (grub-editenv in the chroot). */
export async function setAbBoot(
  ctx: RunContext,
  target: string,
  shared: string,
  ab: AbBoot,
  run: Run,
): Promise<void> {
  const cfg = renderSharedGrubCfg({
    tries: ab.tries,
    rootfs: ctx.spec.rootfs,
    cmdline: ctx.spec.kernel.cmdline,
  });
  await writeTargetFile(target, {
    path: `${shared}/${SHARED_GRUB_CFG}`,
    content: cfg,
    mode: 0o644,
  });
  const env = `${shared}/${SHARED_GRUBENV}`;
  // grub-install makes the block when there is none; an owner may have removed it.
  const have = await access(inTarget(target, env)).then(
    () => true,
    () => false,
  );
  if (!have) await run(["grub-editenv", env, "create"]);
  const set = editenvArgv(env, afterInstall(ab.first, ab.slot, ab.tries));
  ctx.log(`chroot: ${showCommand(set)}`);
  await run(set);
  ctx.log(
    ab.first
      ? `slot ${ab.slot} is the default (first install)`
      : `slot ${ab.slot} on trial for ${ab.tries} boot(s); the default stays until phase 2 confirms it`,
  );
}
