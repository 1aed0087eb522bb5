// Test-side helpers: run send-recv.ts in a namespace and decode what came back.
import { join } from "node:path";
import { decode, encode, type DhcpPacket } from "../../../server/dhcp/codec.ts";
import { nsExec } from "../../lib/netns.ts";

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
    try {
      return [{ from: g.from, port: g.port, packet: decode(Buffer.from(g.hex, "hex")) }];
    } catch {
      return [];
    }
  });
}
