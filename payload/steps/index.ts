// One handler per action kind; the executor looks them up here.
import type { Handlers } from "../run/executor.ts";
import { fetchVerify, readKeepList } from "./fetch.ts";
import { format, mount, partition } from "./disk.ts";
import { extractStage3, extractSysimg, portage } from "./extract.ts";
import { fetchSysimg } from "./sysimg.ts";
import { chrootMounts, chrootRun, unmount, unmountAll, writeFiles } from "./chroot.ts";
import { accounts, fstab, machineId, ssh } from "./configure.ts";
import { bootloader, kernel } from "./boot.ts";
import { emerge } from "./emerge.ts";
import { firstBoot, rotateToken } from "./finish.ts";
import type { RunContext } from "../run/context.ts";

export const handlers: Handlers = {
  "fetch-verify": fetchVerify,
  "read-keep-list": readKeepList,
  partition,
  format,
  mount,
  "extract-stage3": extractStage3,
  "fetch-sysimg": fetchSysimg,
  "extract-sysimg": extractSysimg,
  portage,
  "chroot-mounts": chrootMounts,
  "write-files": writeFiles,
  "chroot-run": chrootRun,
  fstab,
  accounts,
  ssh,
  "machine-id": machineId,
  emerge,
  kernel,
  bootloader,
  "first-boot": firstBoot,
  "rotate-token": rotateToken,
  unmount,
};

/** After a failure: unmount what we mounted so the disks are free; keep the RAM system up. */
export function cleanupFor(target: string) {
  return async (ctx: RunContext): Promise<void> => {
    await unmountAll(ctx, target);
    await ctx.staged?.cleanup().catch(() => undefined);
  };
}
