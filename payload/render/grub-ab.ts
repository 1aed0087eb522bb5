// Pure: the A/B boot state (docs/INSTALLER.md "A/B boot state"). GRUB is
// installed once into the shared partition (automagic-boot on BIOS, the ESP
// on UEFI); its grub.cfg is this renderer's, not grub-mkconfig's. It reads
// the environment block next to it, counts a trial slot's boots down and
// falls back to the confirmed slot when they run out, then hands over to the
// chosen slot's own grub.cfg (grub-mkconfig's, root=UUID= as without A/B).
// The key=value sets below are what the installer and phase 2 write with
// grub-editenv; GRUB itself writes only while counting down and falling back.
import type { FsType } from "../spec/schema.ts";

export type Slot = "a" | "b";

/** Filesystem label of a slot's root: GRUB finds the slot by it, phase 2 knows itself by it. */
export const slotLabel = (slot: Slot): string => `gentoo-${slot}`;

/** The slot a root filesystem label names, if any. */
export function slotOfLabel(label: string | undefined): Slot | undefined {
  const m = /^gentoo-([ab])$/.exec(label?.trim() ?? "");
  return m ? (m[1] as Slot) : undefined;
}

/** Where the installed system mounts the shared partition (GRUB's --boot-directory). */
export function sharedMount(firmware: "bios" | "uefi"): string {
  return firmware === "uefi" ? "/efi" : "/boot/automagic";
}

/** The shared partition's environment block and grub.cfg, relative to where it is mounted. */
export const SHARED_GRUBENV = "grub/grubenv";
export const SHARED_GRUB_CFG = "grub/grub.cfg";

/** Seconds the shared menu (slot a / slot b) waits before it boots the chosen slot. */
export const AB_MENU_TIMEOUT = 3;

export interface SharedGrubOptions {
  /** Boots a trial slot gets (the layout's `tries`, 1..5). */
  tries: number;
  /** The slots' root filesystem (GRUB must load its driver to find the label). */
  rootfs: FsType;
  /** The kernel command line: a `console=ttyS<n>,<speed>` puts GRUB on that serial port too. */
  cmdline: string;
}

const FS_MODULE: Record<FsType, string> = { ext4: "ext2", xfs: "xfs", btrfs: "btrfs" };

/** GRUB's serial port for the kernel's serial console (`console=ttyS0,115200n8`), if it has one. */
export function serialConsole(cmdline: string): { unit: number; speed: number } | undefined {
  const m = /(?:^|\s)console=ttyS(\d+)(?:,(\d+))?/.exec(cmdline);
  return m ? { unit: Number(m[1]), speed: Number(m[2] ?? 9600) } : undefined;
}

/** Why GRUB gave up on a trial slot (also written to ab_failed_why by GRUB itself). */
export const noConfirmWhy = (tries: number): string =>
  `did not confirm within ${tries} boot${tries === 1 ? "" : "s"}`;

/** The shared grub.cfg. GRUB has no arithmetic: the countdown is an if-chain from `tries` to 1. */
export function renderSharedGrubCfg(o: SharedGrubOptions): string {
  if (!Number.isInteger(o.tries) || o.tries < 1 || o.tries > 9)
    throw new Error(`renderSharedGrubCfg: tries ${o.tries} is not 1..9`);
  const serial = serialConsole(o.cmdline);
  const terminal = serial
    ? [
        `serial --unit=${serial.unit} --speed=${serial.speed}`,
        "terminal_input serial console",
        "terminal_output serial console",
      ]
    : [];
  const countdown: string[] = [];
  for (let n = o.tries; n >= 1; n--) {
    countdown.push(
      `${n === o.tries ? "if" : "elif"} [ "\${ab_tries}" = "${n}" ]; then`,
      `  set ab_tries=${n - 1}`,
      `  set ab_boot="\${ab_trial}"`,
    );
  }
  const entry = (slot: Slot) => [
    `menuentry "automagic slot ${slot} (${slotLabel(slot)})" --id ab-${slot} {`,
    `  search --no-floppy --label --set=root ${slotLabel(slot)}`,
    "  configfile /boot/grub/grub.cfg",
    "}",
  ];
  return [
    "# automagic A/B boot, written by automagic on every install (not by grub-mkconfig).",
    "# State in grubenv next to this file: ab_default (the confirmed slot), ab_trial and",
    "# ab_tries (a new slot and the boots left for it), ab_failed and ab_failed_why",
    "# (a trial that fell back). Each slot boots through its own /boot/grub/grub.cfg.",
    ...terminal,
    "insmod part_gpt",
    `insmod ${FS_MODULE[o.rootfs]}`,
    "load_env",
    'set ab_boot="${ab_default}"',
    'if [ -n "${ab_trial}" ]; then',
    ...countdown.map((l) => `  ${l}`),
    "  else",
    '    set ab_failed="${ab_trial}"',
    `    set ab_failed_why="${noConfirmWhy(o.tries)}"`,
    "    set ab_trial=",
    "    set ab_tries=",
    "  fi",
    "  save_env ab_trial ab_tries ab_failed ab_failed_why",
    "fi",
    'if [ "${ab_boot}" != "b" ]; then set ab_boot=a; fi',
    'echo "automagic: booting slot ${ab_boot} (default ${ab_default}, trial ${ab_trial}, tries left ${ab_tries})"',
    'set default="ab-${ab_boot}"',
    `set timeout=${AB_MENU_TIMEOUT}`,
    "set timeout_style=menu",
    ...entry("a"),
    ...entry("b"),
    "",
  ].join("\n");
}

export type EnvChanges = Record<string, string>;

/** After phase 1: the first install becomes the default at once; any later one is a trial. */
export function afterInstall(first: boolean, slot: Slot, tries: number): EnvChanges {
  if (first)
    return { ab_default: slot, ab_trial: "", ab_tries: "", ab_failed: "", ab_failed_why: "" };
  return { ab_trial: slot, ab_tries: String(tries), ab_failed: "", ab_failed_why: "" };
}

/** Phase 2 succeeded on `slot`: it is the default now, the trial is over. */
export function confirm(slot: Slot): EnvChanges {
  return { ab_default: slot, ab_trial: "", ab_tries: "" };
}

/** Phase 2 failed on trial `slot`: the next boot is the default (the old slot) again. */
export function fallBack(slot: Slot, why: string): EnvChanges {
  return { ab_failed: slot, ab_failed_why: oneLine(why), ab_trial: "", ab_tries: "" };
}

/** `grub-editenv FILE set k=v ...`: one call, so the block is rewritten once. */
export function editenvArgv(file: string, changes: EnvChanges): string[] {
  return ["grub-editenv", file, "set", ...Object.entries(changes).map(([k, v]) => `${k}=${v}`)];
}

/** The boot state as the environment block holds it (missing or unknown values left out). */
export interface AbState {
  default?: Slot;
  trial?: Slot;
  tries?: number;
  failed?: Slot;
  failedWhy?: string;
}

export function abState(env: Record<string, string>): AbState {
  const slot = (v: string | undefined) => (v === "a" || v === "b" ? v : undefined);
  const s: AbState = {};
  const d = slot(env.ab_default);
  if (d) s.default = d;
  const t = slot(env.ab_trial);
  if (t) s.trial = t;
  if (t && /^\d+$/.test(env.ab_tries ?? "")) s.tries = Number(env.ab_tries);
  const f = slot(env.ab_failed);
  if (f) s.failed = f;
  if (f && env.ab_failed_why) s.failedWhy = env.ab_failed_why;
  return s;
}

// The block is 1 KiB; a reason is one line of a few hundred bytes at most.
function oneLine(why: string): string {
  const line = why.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
