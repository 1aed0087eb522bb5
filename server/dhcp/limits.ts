// How long a DHCP datagram may be, in and out. Pure but for reading the MTU.
//   In: no client sends a request longer than its link carries unfragmented
//   (RFC 2131 2: messages are sized to the 576-byte minimum or option 57),
//   so a longer one is dropped before it is decoded, at the cost of a length
//   check. The cap is the interface MTU less the IP and UDP headers, never
//   below 576, 1500 - 28 if the MTU cannot be read.
//   Out: option 57 (RFC 2132 9.10) is the longest message the client takes,
//   counted with the IP and UDP headers as ISC dhcpd counts it; at least 576.
import { readFileSync } from "node:fs";
import type { DhcpPacket } from "./codec.ts";
import { Opt } from "./options.ts";

/** IPv4 header (no options) plus UDP header. */
export const IP_UDP_HEADERS = 28;
/** RFC 791: every host takes 576-byte datagrams; no cap goes below it. */
export const MIN_DATAGRAM = 576;
const DEFAULT_MTU = 1500;

/** The interface's MTU from sysfs, or undefined (no such interface, no /sys). */
export function interfaceMtu(
  ifname: string,
  read: (path: string) => string = (p) => readFileSync(p, "utf8"),
): number | undefined {
  try {
    const mtu = Number(read(`/sys/class/net/${ifname}/mtu`).trim());
    return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

/** The longest request accepted on a link with this MTU. */
export function datagramCap(mtu: number | undefined): number {
  return Math.max(MIN_DATAGRAM, (mtu ?? DEFAULT_MTU) - IP_UDP_HEADERS);
}

/** The longest reply `req`'s sender takes on a link whose cap is `linkCap`. */
export function replyCap(req: DhcpPacket, linkCap: number): number {
  const v = req.options.get(Opt.maxMessageSize);
  if (!v || v.length !== 2) return linkCap;
  return Math.min(linkCap, Math.max(MIN_DATAGRAM, v.readUInt16BE(0)) - IP_UDP_HEADERS);
}
