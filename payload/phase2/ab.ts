// Phase 2 under layout ab (docs/INSTALLER.md "A/B boot state"): the new
// slot knows itself by the label of the filesystem at / (gentoo-a or
// gentoo-b); it confirms itself when phase 2 succeeded, and when phase 2
// fails while it is on trial it gives the machine back to the old slot
// (GRUB boots ab_default on the next boot). The boot state is written with
// this system's grub-editenv on the shared partition, mounted from fstab.
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  abState,
  confirm,
  editenvArgv,
  fallBack,
  SHARED_GRUBENV,
  sharedMount,
  slotOfLabel,
  type AbState,
  type Slot,
} from "../render/grub-ab.ts";
import { parseGrubEnv } from "../render/grubenv.ts";
import type { CommandRunner } from "../run/runner.ts";
import type { InstallSpec } from "../spec/schema.ts";
import { inRoot } from "./target-fs.ts";

export const isAb = (spec: InstallSpec): boolean => spec.layout.mode === "ab";

export interface OwnSlot {
  slot: Slot;
  /** The environment block, as a path inside the root. */
  env: string;
}

/**
 * This system's slot and its boot state's file, the shared partition
 * mounted (fstab has it); undefined when / is not an A/B slot.
 */
export async function ownSlot(
  runner: CommandRunner,
  root: string,
  firmware: "bios" | "uefi",
): Promise<OwnSlot | undefined> {
  const slot = slotOfLabel(await rootLabel(runner, root));
  if (!slot) return undefined;
  const shared = sharedMount(firmware);
  const mounted = await runner.run(["mountpoint", "-q", path.join(root, shared)]).then(
    () => true,
    () => false,
  );
  if (!mounted) await runner.run(inRoot(root, ["mount", shared]));
  return { slot, env: `${shared}/${SHARED_GRUBENV}` };
}

/** The label of the filesystem at the root: findmnt's, or blkid's when findmnt has no udev data. */
async function rootLabel(runner: CommandRunner, root: string): Promise<string> {
  const find = async (col: string) =>
    (await runner.run(["findmnt", "-n", "-o", col, "--target", root])).stdout.trim();
  const label = await find("LABEL");
  if (label) return label;
  const source = await find("SOURCE");
  if (!source.startsWith("/dev/")) return "";
  return (await runner.run(["blkid", "-s", "LABEL", "-o", "value", source])).stdout.trim();
}

export async function readOwnState(root: string, own: OwnSlot): Promise<AbState> {
  return abState(parseGrubEnv(await readFile(path.join(root, own.env))));
}

/** Phase 2 succeeded: this slot is the default from now on. */
export async function confirmOwnSlot(
  runner: CommandRunner,
  root: string,
  own: OwnSlot,
): Promise<void> {
  await runner.run(inRoot(root, editenvArgv(own.env, confirm(own.slot))));
}

/** Phase 2 failed: when this slot is on trial, the default boots next; true when it fell back. */
export async function fallBackIfTrial(
  runner: CommandRunner,
  root: string,
  own: OwnSlot,
  why: string,
): Promise<boolean> {
  if ((await readOwnState(root, own)).trial !== own.slot) return false;
  await runner.run(inRoot(root, editenvArgv(own.env, fallBack(own.slot, why))));
  return true;
}
