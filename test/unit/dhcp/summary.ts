// A readable, stable text form of a decoded packet for golden files: every
// header field and every option as "code=hex", so a codec change that
// alters what we read from real traffic shows up as a diff.
import type { DhcpPacket } from "../../../server/dhcp/codec.ts";

export function summarize(p: DhcpPacket): Record<string, unknown> {
  return {
    op: p.op,
    htype: p.htype,
    hlen: p.hlen,
    hops: p.hops,
    xid: p.xid.toString(16).padStart(8, "0"),
    secs: p.secs,
    flags: p.flags.toString(16),
    ciaddr: p.ciaddr,
    yiaddr: p.yiaddr,
    siaddr: p.siaddr,
    giaddr: p.giaddr,
    chaddr: p.chaddr.subarray(0, p.hlen).toString("hex"),
    sname: p.sname,
    file: p.file,
    options: [...p.options].map(([code, v]) => `${code}=${v.toString("hex")}`),
  };
}
