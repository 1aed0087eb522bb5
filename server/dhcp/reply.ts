// Building replies and choosing where they go (RFC 2131 4.1). Pure.
import { BROADCAST_FLAG, type DhcpPacket } from "./codec.ts";
import type { BootOffer } from "./boot.ts";
import type { ClientFacts } from "./client.ts";
import { ipBytes } from "./ip.ts";
import { IpxeSub, Opt, PxeSub, encodeSubOptions } from "./options.ts";

export const CLIENT_PORT = 68;
export const SERVER_PORT = 67;

export interface Destination {
  address: string;
  port: number;
}

/** A reply skeleton mirroring the request's xid, chaddr, giaddr and flags. */
export function baseReply(req: DhcpPacket, type: number, serverIp: string): DhcpPacket {
  const options = new Map<number, Buffer>();
  options.set(Opt.messageType, Buffer.from([type]));
  options.set(Opt.serverId, ipBytes(serverIp));
  return {
    op: 2,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: "0.0.0.0",
    yiaddr: "0.0.0.0",
    siaddr: "0.0.0.0",
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: "",
    file: "",
    options,
  };
}

function requested(req: DhcpPacket, code: number): boolean {
  return req.options.get(Opt.paramRequestList)?.includes(code) ?? false;
}

/**
 * Adds the boot answer: siaddr + file, option 67 when asked for (or when the
 * name is a URL, which iPXE and UEFI HTTP boot read from 67), option 60
 * echoed, 97 echoed, PXE option 43 for BIOS firmware, and iPXE's 175.176=1
 * so iPXE does not wait seconds for a ProxyDHCP offer that never comes.
 */
export function addBoot(
  reply: DhcpPacket,
  req: DhcpPacket,
  c: ClientFacts,
  offer: BootOffer,
  opts: { ipxeNoProxyWait: boolean; forcePxeVendor?: boolean },
): void {
  if (offer.kind === "none") return;
  reply.siaddr = offer.nextServer;
  if (Buffer.byteLength(offer.bootfile, "latin1") < 128) reply.file = offer.bootfile;
  if (offer.kind !== "tftp" || requested(req, Opt.bootfileName) || reply.file === "") {
    reply.options.set(Opt.bootfileName, Buffer.from(offer.bootfile, "latin1"));
  }
  if (offer.vendorClass) reply.options.set(Opt.vendorClass, Buffer.from(offer.vendorClass));
  if (c.uuidOption) reply.options.set(Opt.clientUuid, c.uuidOption);
  if (offer.pxeVendorOptions || (opts.forcePxeVendor && offer.vendorClass === "PXEClient")) {
    // Discovery control bit 3: skip boot server discovery, load `file` now.
    reply.options.set(
      Opt.vendorSpecific,
      encodeSubOptions([[PxeSub.discoveryControl, Buffer.from([8])]]),
    );
  }
  if (c.ipxe && opts.ipxeNoProxyWait) {
    reply.options.set(Opt.ipxeEncap, encodeSubOptions([[IpxeSub.noPxeDhcp, Buffer.from([1])]]));
  }
}

/**
 * RFC 2131 4.1 "to whom": relay, then ciaddr, then broadcast. A ciaddr that
 * is not on our link (`onLink`) is not unicast to: it would only sit in the
 * ARP queue, and a flood of such packets fills the socket's send buffer and
 * stalls every reply behind it (found by the fuzz test).
 */
export function destinationFor(
  req: DhcpPacket,
  reply: DhcpPacket,
  isNak: boolean,
  onLink: (ip: string) => boolean = () => true,
): Destination {
  if (req.giaddr !== "0.0.0.0") {
    // The relay broadcasts a NAK on the client's segment only if asked to.
    if (isNak) reply.flags |= BROADCAST_FLAG;
    return { address: req.giaddr, port: SERVER_PORT };
  }
  if (!isNak && req.ciaddr !== "0.0.0.0" && onLink(req.ciaddr)) {
    return { address: req.ciaddr, port: CLIENT_PORT };
  }
  // Unicast to yiaddr would need an ARP entry we cannot add from a UDP
  // socket, so a client without an address is always answered by broadcast
  // on the bound interface (what dnsmasq does without CAP_NET_ADMIN tricks).
  return { address: "255.255.255.255", port: CLIENT_PORT };
}
