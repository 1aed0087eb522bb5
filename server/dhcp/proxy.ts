// ProxyDHCP (PXE spec 2.1 section 2.2.3): beside someone else's DHCP server,
// answer PXE clients with boot information only, never an address. On 67 we
// answer DISCOVERs with an OFFER; on 4011 the client (now with an address)
// sends a REQUEST and gets an ACK, which is the path EDK2 (OVMF) takes when
// an offer carries no boot file it trusts.
import { decideBootOffer, type BootConfig } from "./boot.ts";
import { clientFacts } from "./client.ts";
import { messageType, type DhcpPacket } from "./codec.ts";
import { MsgType, Opt, PxeSub, encodeSubOptions } from "./options.ts";
import type { Outcome } from "./outcome.ts";
import { addBoot, baseReply, destinationFor, type Destination } from "./reply.ts";

export interface ProxyContext {
  serverIp: string;
  boot: BootConfig;
}

export function handleProxy(
  req: DhcpPacket,
  ctx: ProxyContext,
  via: "dhcp" | "pxe",
  from: Destination,
): Outcome {
  const c = clientFacts(req);
  const type = messageType(req);
  const decided = decideBootOffer(c, ctx.boot);
  if (decided.kind === "none")
    return { trace: { what: "ignored", detail: { reason: decided.reason } } };
  // iPXE takes a ProxyDHCP answer only with siaddr set *and* a file name
  // (dhcp_has_pxeopts); with siaddr 0 it ignored our 4011 ACKs and found
  // "Nothing to boot" (e2e netboot-chain). siaddr is unused for an http URL.
  const offer =
    decided.kind === "ipxe-script" && decided.nextServer === "0.0.0.0"
      ? { ...decided, nextServer: ctx.serverIp }
      : decided;
  const detail = { arch: c.arch, uuid: c.uuid, boot: `${offer.kind} ${offer.bootfile}` };
  if (via === "dhcp") {
    if (type !== MsgType.discover) {
      return {
        trace: { what: "ignored", detail: { reason: "proxy answers only DISCOVER on 67" } },
      };
    }
    const reply = baseReply(req, MsgType.offer, ctx.serverIp);
    // iPXE must keep waiting for ProxyDHCP here, so no 175.176.
    addBoot(reply, req, c, offer, { ipxeNoProxyWait: false, forcePxeVendor: true });
    return {
      reply: { packet: reply, to: destinationFor(req, reply, false) },
      trace: { what: "proxy-offer", detail },
    };
  }
  if (type !== MsgType.request && type !== MsgType.inform) {
    return { trace: { what: "ignored", detail: { reason: "4011 expects REQUEST" } } };
  }
  const reply = baseReply(req, MsgType.ack, ctx.serverIp);
  addBoot(reply, req, c, offer, { ipxeNoProxyWait: false });
  if (offer.vendorClass === "PXEClient") {
    // Echo the requested boot item (layer 0) so the ROM accepts the ACK.
    const item = c.pxeBootItem ?? Buffer.from([0, 0, 0, 0]);
    reply.options.set(Opt.vendorSpecific, encodeSubOptions([[PxeSub.bootItem, item]]));
  }
  // The client has an address by now: unicast back to where it came from.
  const to = req.giaddr !== "0.0.0.0" ? destinationFor(req, reply, false) : from;
  return { reply: { packet: reply, to }, trace: { what: "proxy-ack", detail } };
}
