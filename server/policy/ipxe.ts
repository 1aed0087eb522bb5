// iPXE scripts, rendered as exact text (golden-tested in test/golden/ipxe/).
// Pure: every value the script carries comes in through the arguments.
import type { Action } from "./actions.ts";

export type LocalBoot = "exit" | "sanboot";

export interface LocalScript {
  kind: "local";
  mac: string;
  reason: string;
  localBoot: LocalBoot;
}

export interface BootScript {
  kind: "boot";
  mac: string;
  host: string;
  action: Action;
  runId: number;
  token: string;
  /** Base URL the payload talks to, no trailing slash. */
  serverUrl: string;
  kernelUrl: string;
  initrdUrl: string;
  /** The image's own kernel arguments (its manifest); absent: serial + VGA consoles. */
  imageArgs?: string;
  /** Appended to the kernel command line (from config). */
  extraCmdline?: string;
  /** Download attempts before giving up and booting local. */
  tries: number;
  localBoot: LocalBoot;
}

/** For a request without ?mac=: iPXE fills in the booting NIC and asks again. */
export interface ChainScript {
  kind: "chain";
  serverUrl: string;
}

/** An armed host the server cannot serve (no current image): say so, boot local. */
export interface ErrorScript {
  kind: "error";
  mac: string;
  message: string;
  localBoot: LocalBoot;
}

export type Script = LocalScript | BootScript | ChainScript | ErrorScript;

/** iPXE expands ${...} and treats # as a comment only at line start; keep text inert. */
function inert(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replace(/\$/g, "_");
}

/**
 * Hands control back to the firmware so it boots the next entry (the disk).
 * UEFI boot managers move on to the next BootOrder entry only when the boot
 * image fails; an image that returns EFI_SUCCESS makes them show the boot
 * menu instead (UEFI spec 3.1.1). So under UEFI iPXE exits with status 1:
 * a plain `exit` left OVMF in its setup screen (UEFI e2e). BIOS ignores it.
 */
const EXIT_TO_FIRMWARE = ["iseq ${platform} efi && exit 1 ||", "exit"];

function localLines(localBoot: LocalBoot): string[] {
  // Some UEFI firmware stalls on `exit` (FOG#60, #373);
  // `sanboot --no-describe --drive 0x80` boots the first BIOS disk instead.
  return localBoot === "exit"
    ? EXIT_TO_FIRMWARE
    : ["sanboot --no-describe --drive 0x80 ||", ...EXIT_TO_FIRMWARE];
}

/** BOOTIF as pxelinux writes it: hardware type 01, then the MAC with hyphens. */
export function bootif(mac: string): string {
  return `01-${mac.toLowerCase().replace(/:/g, "-")}`;
}

export function kernelCmdline(s: BootScript): string {
  const parts = [
    // iPXE 2019 under UEFI hands the initrd to the kernel's EFI stub only by
    // name (qemu-netboot-facts.md); harmless under BIOS.
    "initrd=initrd.img",
    `automagic.url=${s.serverUrl}`,
    `automagic.token=${s.token}`,
    `automagic.action=${s.action}`,
    // The NIC the server saw in this request, not net0: on a multi-NIC machine
    // net0 may not be the one that booted.
    `BOOTIF=${bootif(s.mac)}`,
    // The image knows its consoles and boot-time switches (quiet,
    // cryptomgr.notests); an image without a manifest gets both consoles.
    ...(s.imageArgs ? [s.imageArgs] : ["console=ttyS0,115200", "console=tty0"]),
  ];
  if (s.extraCmdline) parts.push(s.extraCmdline);
  return parts.join(" ");
}

function bootLines(s: BootScript): string[] {
  return [
    `# automagic: ${s.mac} host=${s.host} action=${s.action} run=${s.runId}`,
    "set automagic-try:int32 0",
    ":fetch",
    `kernel ${s.kernelUrl} ${kernelCmdline(s)} || goto retry`,
    `initrd --name initrd.img ${s.initrdUrl} || goto retry`,
    "boot || goto retry",
    ":retry",
    "inc automagic-try",
    `iseq \${automagic-try} ${s.tries} && goto giveup ||`,
    "echo automagic: download failed (try ${automagic-try}), retrying in 5 s",
    "imgfree",
    "sleep 5",
    "goto fetch",
    ":giveup",
    `echo automagic: giving up after ${s.tries} tries, booting the local disk`,
    "sleep 10",
    ...localLines(s.localBoot),
  ];
}

export function renderIpxe(s: Script): string {
  let lines: string[];
  switch (s.kind) {
    case "local":
      lines = [`# automagic: ${s.mac} -> local (${inert(s.reason)})`, ...localLines(s.localBoot)];
      break;
    case "boot":
      lines = bootLines(s);
      break;
    case "chain":
      lines = [
        "# automagic: no MAC in the request; ask again with this NIC's identity",
        `chain ${s.serverUrl}/boot.ipxe?mac=\${netX/mac}&uuid=\${uuid}&arch=\${buildarch} ||`,
        ...EXIT_TO_FIRMWARE,
      ];
      break;
    case "error":
      lines = [
        `# automagic: ${s.mac} -> local (error)`,
        `echo automagic: ${inert(s.message)}`,
        "sleep 10",
        ...localLines(s.localBoot),
      ];
      break;
  }
  return ["#!ipxe", ...lines, ""].join("\n");
}
