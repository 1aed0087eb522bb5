// IPv4 address -> MAC from the kernel's neighbour table, for boot-trace rows
// that only know a peer address. In proxy mode another server hands out the
// addresses, so the TFTP fetch of a PXE client can be tied to its MAC only
// through ARP (the client ARPed for us before its read request).
import { readFileSync } from "node:fs";

/** Pure: the MAC of `ip` in /proc/net/arp text, if complete (flags 0x2). */
export function macFromArpTable(text: string, ip: string): string | undefined {
  for (const line of text.split("\n").slice(1)) {
    const [addr, , flags, mac] = line.trim().split(/\s+/);
    if (addr === ip && mac && mac !== "00:00:00:00:00:00" && (Number(flags) & 0x2) !== 0) {
      return mac.toLowerCase();
    }
  }
  return undefined;
}

export function neighbourMac(ip: string, file = "/proc/net/arp"): string | undefined {
  try {
    return macFromArpTable(readFileSync(file, "utf8"), ip);
  } catch {
    return undefined;
  }
}
