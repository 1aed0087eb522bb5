// The one builder of a client's request (op 1, Ethernet): the conflict
// probe's DISCOVER (probe.ts), the storm bench's simulated firmware and the
// unit tests' requests all start here, so the header is written in one place.
// reply.ts is its counterpart on the server's side.
import { BROADCAST_FLAG, type DhcpPacket } from "./codec.ts";

export interface ClientRequest {
  xid: number;
  /** The client's Ethernet address, 6 bytes. */
  mac: Buffer;
  /** In wire order; option 53 first, as clients send it. */
  options: Iterable<readonly [number, Buffer]>;
  /** Ask for broadcast replies (RFC 2131 4.1), as a client without an address does. */
  broadcast?: boolean;
  /** A renewing client's own address. */
  ciaddr?: string;
  /** Set by a relay agent on the way. */
  giaddr?: string;
}

export function clientRequest(r: ClientRequest): DhcpPacket {
  const chaddr = Buffer.alloc(16);
  r.mac.copy(chaddr, 0, 0, 6);
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: r.xid,
    secs: 0,
    flags: r.broadcast ? BROADCAST_FLAG : 0,
    ciaddr: r.ciaddr ?? "0.0.0.0",
    yiaddr: "0.0.0.0",
    siaddr: "0.0.0.0",
    giaddr: r.giaddr ?? "0.0.0.0",
    chaddr,
    sname: "",
    file: "",
    options: new Map(r.options),
  };
}
