// Test-side helpers: run send-recv.ts in a namespace and decode what came back.
import { join } from "node:path";
import { decode, encode, type DhcpPacket } from "../../../server/dhcp/codec.ts";
import { MsgType } from "../../../server/dhcp/options.ts";
import { nsExec } from "../../lib/netns.ts";
import { request } from "../../unit/dhcp/build.ts";

const SEND_RECV = join(import.meta.dirname, "send-recv.ts");

export interface Received {
  from: string;
  port: number;
  packet: DhcpPacket;
}

export async function exchange(
  ns: string,
  packets: DhcpPacket[],
  opts: { bind: string; to: string; waitMs?: number },
): Promise<Received[]> {
  const args = [
    "--import",
    "tsx",
    SEND_RECV,
    "--bind",
    opts.bind,
    "--to",
    opts.to,
    "--wait",
    String(opts.waitMs ?? 1500),
  ];
  for (const p of packets) args.push("--hex", encode(p).toString("hex"));
  const r = await nsExec(ns, process.execPath, args, { timeout: 30_000 });
  const got = JSON.parse(String(r.stdout)) as Array<{ from: string; port: number; hex: string }>;
  return got.flatMap((g) => {
    const d = decode(Buffer.from(g.hex, "hex"));
    return d.ok ? [{ from: g.from, port: g.port, packet: d.packet }] : [];
  });
}

/**
 * A BIOS ROM's PXE DISCOVER (broadcast flag set), broadcast from the client
 * namespace `ns` (which needs a route out); every reply within `waitMs`.
 */
export function pxeDiscover(ns: string, mac: string, waitMs = 3000): Promise<Received[]> {
  const discover = request(MsgType.discover, {
    vendorClass: "PXEClient:Arch:00000:UNDI:002001",
    arch: 0,
    mac,
  });
  discover.flags = 0x8000;
  return exchange(ns, [discover], { bind: "0.0.0.0:68", to: "255.255.255.255:67", waitMs });
}
