// Pure: what the kernel command line says about this run. The netboot image
// gets `automagic.url= automagic.token= automagic.action=` and iPXE's
// `BOOTIF=01-aa-bb-cc-dd-ee-ff` (server/policy/ipxe.ts) on it.

/** automagic.url= / automagic.token= / automagic.action= from the kernel command line. */
export function cmdlineArgs(cmdline: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of cmdline.matchAll(/(?:^|\s)automagic\.(\w+)=(\S+)/g)) out[m[1]!] = m[2]!;
  return out;
}

/**
 * The MAC the firmware netbooted from: BOOTIF=01-aa-bb-cc-dd-ee-ff (ARP
 * hardware type 01, Ethernet; the pxelinux convention iPXE follows), as the
 * spec writes MACs (lower case, colons). A malformed BOOTIF is no MAC at all.
 */
export function bootifMac(cmdline: string): string | undefined {
  const m = /(?:^|\s)BOOTIF=01-((?:[0-9a-f]{2}-){5}[0-9a-f]{2})(?:\s|$)/i.exec(cmdline);
  return m ? m[1]!.toLowerCase().replace(/-/g, ":") : undefined;
}

/** Booted by an automagic server (the netboot image), not started by hand. */
export const netbooted = (cmdline: string): boolean => cmdlineArgs(cmdline).url !== undefined;
