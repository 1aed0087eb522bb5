// Full DHCP: addresses from a pool or a reservation, plus the boot answer.
// Decisions only; the caller owns sockets and the journal.
import { decideBootOffer, type BootConfig } from "./boot.ts";
import { clientFacts, type ClientFacts } from "./client.ts";
import { messageType, type DhcpPacket } from "./codec.ts";
import { broadcastOf, inSubnet, ipBytes, maskOf, readIp } from "./ip.ts";
import type { LeaseTable } from "./lease-table.ts";
import { MsgType, Opt, msgTypeName } from "./options.ts";
import type { Outcome } from "./outcome.ts";
import { addBoot, baseReply, destinationFor } from "./reply.ts";

export interface SubnetConfig {
  network: string;
  prefixLen: number;
  poolStart: string;
  poolEnd: string;
  router?: string;
  dns?: string[];
  leaseSeconds?: number;
}

export interface SubnetState {
  cfg: SubnetConfig;
  table: LeaseTable;
}

export interface FullContext {
  serverIp: string;
  /** [0] is the directly attached subnet; others are reached through relays. */
  subnets: SubnetState[];
  boot: BootConfig;
  reservationFor(mac: string): string | undefined;
}

export const DEFAULT_LEASE_SECONDS = 3600;

function optIp(p: DhcpPacket, code: number): string | undefined {
  const v = p.options.get(code);
  return v && v.length === 4 ? readIp(v, 0) : undefined;
}

/** RFC 2131 4.3.1: the subnet is the relay's (giaddr) or the receiving interface's. */
export function subnetFor(req: DhcpPacket, subnets: SubnetState[]): SubnetState | undefined {
  if (req.giaddr === "0.0.0.0") return subnets[0];
  return subnets.find((s) => inSubnet(req.giaddr, s.cfg.network, s.cfg.prefixLen));
}

function addLeaseOptions(reply: DhcpPacket, s: SubnetConfig): void {
  const secs = s.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };
  reply.options.set(Opt.leaseTime, u32(secs));
  reply.options.set(Opt.renewalTime, u32(Math.floor(secs / 2)));
  reply.options.set(Opt.rebindingTime, u32(Math.floor((secs * 7) / 8)));
  reply.options.set(Opt.subnetMask, u32(maskOf(s.prefixLen)));
  reply.options.set(Opt.broadcast, ipBytes(broadcastOf(s.network, s.prefixLen)));
  if (s.router) reply.options.set(Opt.router, ipBytes(s.router));
  if (s.dns?.length) reply.options.set(Opt.dns, Buffer.concat(s.dns.map(ipBytes)));
}

const onLinkOf = (s: SubnetState) => (ip: string) => inSubnet(ip, s.cfg.network, s.cfg.prefixLen);

function nak(req: DhcpPacket, ctx: FullContext, c: ClientFacts, why: string): Outcome {
  const reply = baseReply(req, MsgType.nak, ctx.serverIp);
  reply.flags = req.flags;
  reply.options.set(Opt.message, Buffer.from(why));
  return {
    reply: { packet: reply, to: destinationFor(req, reply, true) },
    trace: { what: "nak", detail: { reason: why, uuid: c.uuid } },
  };
}

function ack(
  req: DhcpPacket,
  ctx: FullContext,
  c: ClientFacts,
  s: SubnetState,
  ip: string,
  type: number,
): Outcome {
  const reply = baseReply(req, type, ctx.serverIp);
  reply.yiaddr = ip;
  addLeaseOptions(reply, s.cfg);
  const offer = decideBootOffer(c, ctx.boot);
  addBoot(reply, req, c, offer, { ipxeNoProxyWait: true });
  const what = type === MsgType.offer ? "offer" : "ack";
  const detail: Record<string, unknown> = {
    ip,
    arch: c.arch,
    uuid: c.uuid,
    boot: offer.kind === "none" ? `none: ${offer.reason}` : `${offer.kind} ${offer.bootfile}`,
  };
  if (req.giaddr !== "0.0.0.0") detail.relay = req.giaddr;
  return {
    reply: { packet: reply, to: destinationFor(req, reply, false) },
    trace: { what, detail },
  };
}

function reservedIn(ctx: FullContext, s: SubnetState, mac: string): string | undefined {
  const r = ctx.reservationFor(mac);
  return r && inSubnet(r, s.cfg.network, s.cfg.prefixLen) ? r : undefined;
}

function onDiscover(req: DhcpPacket, ctx: FullContext, c: ClientFacts, s: SubnetState): Outcome {
  const ip = s.table.choose(c.mac, optIp(req, Opt.requestedIp), reservedIn(ctx, s, c.mac));
  if (!ip) return { trace: { what: "pool-exhausted", detail: { network: s.cfg.network } } };
  s.table.hold(c.mac, ip);
  return ack(req, ctx, c, s, ip, MsgType.offer);
}

function onRequest(req: DhcpPacket, ctx: FullContext, c: ClientFacts, s: SubnetState): Outcome {
  const serverId = optIp(req, Opt.serverId);
  if (serverId && serverId !== ctx.serverIp) {
    // SELECTING another server's offer: free our hold (RFC 2131 4.3.2).
    const held = s.table.leaseOf(c.mac);
    if (held?.state === "offered") s.table.release(c.mac);
    return { trace: { what: "chose-other-server", detail: { serverId } } };
  }
  const ip = optIp(req, Opt.requestedIp) ?? (req.ciaddr !== "0.0.0.0" ? req.ciaddr : undefined);
  if (!ip) return { trace: { what: "ignored", detail: { reason: "REQUEST without address" } } };
  if (!inSubnet(ip, s.cfg.network, s.cfg.prefixLen)) return nak(req, ctx, c, "wrong network");
  const reserved = reservedIn(ctx, s, c.mac);
  const known = s.table.leaseOf(c.mac);
  if (!serverId && req.ciaddr === "0.0.0.0" && !known && !reserved) {
    // INIT-REBOOT from a client we have no record of: stay silent (4.3.2).
    return { trace: { what: "ignored", detail: { reason: "init-reboot, unknown client", ip } } };
  }
  if (reserved ? ip !== reserved : !s.table.inPool(ip) || !s.table.availableFor(ip, c.mac)) {
    return nak(req, ctx, c, `address ${ip} not available`);
  }
  const lease = s.table.bind(c.mac, ip, s.cfg.leaseSeconds ?? DEFAULT_LEASE_SECONDS);
  const out = ack(req, ctx, c, s, ip, MsgType.ack);
  out.persist = { mac: c.mac, ip, expires: lease.expires };
  return out;
}

function onInform(req: DhcpPacket, ctx: FullContext, c: ClientFacts, s: SubnetState): Outcome {
  const reply = baseReply(req, MsgType.ack, ctx.serverIp);
  addLeaseOptions(reply, s.cfg);
  // RFC 2131 3.4: no lease time in an ACK to INFORM.
  for (const o of [Opt.leaseTime, Opt.renewalTime, Opt.rebindingTime]) reply.options.delete(o);
  addBoot(reply, req, c, decideBootOffer(c, ctx.boot), { ipxeNoProxyWait: true });
  return {
    reply: { packet: reply, to: destinationFor(req, reply, false, onLinkOf(s)) },
    trace: { what: "inform-ack", detail: { ciaddr: req.ciaddr } },
  };
}

export function handleFull(req: DhcpPacket, ctx: FullContext): Outcome {
  const c = clientFacts(req);
  const type = messageType(req);
  const s = subnetFor(req, ctx.subnets);
  if (!s)
    return {
      trace: { what: "ignored", detail: { reason: "no subnet for relay", giaddr: req.giaddr } },
    };
  switch (type) {
    case MsgType.discover:
      return onDiscover(req, ctx, c, s);
    case MsgType.request:
      return onRequest(req, ctx, c, s);
    case MsgType.inform:
      return onInform(req, ctx, c, s);
    case MsgType.release: {
      const ip = s.table.release(c.mac);
      return {
        trace: { what: "release", detail: { ip } },
        persist: ip ? { mac: c.mac, ip, expires: 0 } : undefined,
      };
    }
    case MsgType.decline: {
      const ip = optIp(req, Opt.requestedIp);
      if (ip && s.table.inPool(ip)) s.table.decline(ip);
      return {
        trace: { what: "decline", detail: { ip } },
        persist: ip ? { mac: c.mac, ip, expires: 0 } : undefined,
      };
    }
    default:
      return {
        trace: { what: "ignored", detail: { reason: `message type ${msgTypeName(type) ?? type}` } },
      };
  }
}
