// Builds client requests for unit tests: a DhcpPacket with the given
// options, as a client of that kind would send it.
import { clientRequest } from "../../../server/dhcp/client-request.ts";
import { decode, type DhcpPacket } from "../../../server/dhcp/codec.ts";
import { Opt } from "../../../server/dhcp/options.ts";

export function request(
  type: number,
  opts: {
    mac?: string;
    arch?: number;
    vendorClass?: string;
    userClass?: string;
    ipxe175?: boolean;
    requestedIp?: string;
    serverId?: string;
    ciaddr?: string;
    giaddr?: string;
    uuid?: Buffer;
    extra?: Array<[number, Buffer]>;
  } = {},
): DhcpPacket {
  const options = new Map<number, Buffer>([[Opt.messageType, Buffer.from([type])]]);
  const ipb = (s: string) => Buffer.from(s.split(".").map(Number));
  if (opts.requestedIp) options.set(Opt.requestedIp, ipb(opts.requestedIp));
  if (opts.serverId) options.set(Opt.serverId, ipb(opts.serverId));
  if (opts.vendorClass) options.set(Opt.vendorClass, Buffer.from(opts.vendorClass));
  if (opts.userClass) options.set(Opt.userClass, Buffer.from(opts.userClass));
  if (opts.arch !== undefined) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(opts.arch);
    options.set(Opt.clientArch, b);
  }
  if (opts.uuid) options.set(Opt.clientUuid, opts.uuid);
  if (opts.ipxe175) options.set(Opt.ipxeEncap, Buffer.from([0x13, 0x01, 0x01]));
  for (const [c, v] of opts.extra ?? []) options.set(c, v);
  const mac = Buffer.from((opts.mac ?? "52:54:00:aa:bb:cc").replaceAll(":", ""), "hex");
  return clientRequest({ xid: 0x11223344, mac, options, ciaddr: opts.ciaddr, giaddr: opts.giaddr });
}

/** Decodes bytes the test knows are a DHCP packet; a failure fails the test with the codec's reason. */
export function decodeOk(bytes: Buffer): DhcpPacket {
  const d = decode(bytes);
  if (!d.ok) throw new Error(`expected a DHCP packet: ${d.reason}`);
  return d.packet;
}
