// What the listening loop (requests.ts) and each transfer (serve-file.ts)
// share: settings, limits, counters, slots, the socket factory, the clock.
import type { ContentCache } from "./content.ts";
import type { TftpSettings } from "./config.ts";
import type { Log } from "../log.ts";
import type { TftpTraceEvent } from "./hooks.ts";
import type { Limits } from "./options.ts";
import type { Slots } from "./slots.ts";
import type { Clock, Peer, Transfer } from "./transfer.ts";
import type { UdpSocket, UdpSocketFactory } from "../net/udp.ts";
import { encodeError } from "./packet.ts";

export interface Slot {
  transfer?: Transfer;
  socket?: UdpSocket;
}

export interface TftpContext {
  cfg: TftpSettings;
  realRoot: string;
  type: "udp4" | "udp6";
  limits: Limits;
  cache: ContentCache;
  counters: { transfers: number; errors: number; malformed: number };
  active: Slots<Slot>;
  /** Sockets that carry one ERROR and close once it is sent. */
  stray: Set<UdpSocket>;
  closed: boolean;
  log: Log;
  clock: Clock;
  open: UdpSocketFactory;
  trace(peer: string, what: TftpTraceEvent["what"], detail: Record<string, unknown>): void;
}

/** A fresh port for a transfer or an ERROR (the server's TID, RFC 1350 section 4). */
export async function openTransferSocket(ctx: TftpContext, connect?: Peer): Promise<UdpSocket> {
  const s = await ctx.open({ type: ctx.type, address: ctx.cfg.address, port: 0, connect });
  s.on("error", (err) => ctx.log.warn({ err }, "tftp: transfer socket error"));
  return s;
}

/** Errors come from a fresh port too: clients lock onto the first reply's port. */
export async function refuse(
  ctx: TftpContext,
  peer: Peer,
  code: number,
  message: string,
): Promise<void> {
  const s = await openTransferSocket(ctx);
  ctx.stray.add(s);
  s.send(encodeError(code, message), peer.port, peer.address, () => {
    ctx.stray.delete(s);
    s.close();
  });
}
