// A datagram on the listening port: decide (request.ts), then refuse with an
// ERROR or give the request a slot and start its transfer (serve-file.ts).
// Input never throws out of here: a bad datagram is counted and dropped.
import { refuse, type TftpContext } from "./context.ts";
import { ERR } from "./packet.ts";
import { decideRequest } from "./request.ts";
import { serveFile } from "./serve-file.ts";
import type { UdpPeer } from "../net/udp.ts";

export function onRequest(ctx: TftpContext, msg: Buffer, rinfo: UdpPeer): void {
  const { counters, log } = ctx;
  const key = `${rinfo.address}:${rinfo.port}`;
  const peer = { address: rinfo.address, port: rinfo.port };
  const d = decideRequest(msg);
  if (d.kind === "drop") {
    if (d.malformed) counters.malformed += 1;
    log.debug({ peer: key, reason: d.reason }, "tftp: datagram dropped");
    return;
  }
  if (d.kind === "refuse") {
    counters.errors += 1;
    ctx.trace(key, "error", { file: d.filename, code: d.code, reason: d.reason });
    refuse(ctx, peer, d.code, d.message).catch((err: unknown) => log.warn({ err }, "tftp: refuse"));
    return;
  }
  if (ctx.active.has(key)) return; // retransmitted RRQ: the running transfer answers it
  ctx.trace(key, "rrq", { file: d.filename, mode: d.mode, options: Object.fromEntries(d.options) });
  const full = ctx.active.refusal(peer.address);
  if (full) {
    counters.errors += 1;
    ctx.trace(key, "error", { file: d.filename, code: ERR.NOT_DEFINED, reason: full });
    refuse(ctx, peer, ERR.NOT_DEFINED, full).catch((err: unknown) =>
      log.warn({ err }, "tftp: refuse"),
    );
    return;
  }
  ctx.active.add(key, peer.address, {});
  const req = { key, peer, filename: d.filename, mode: d.mode, options: d.options };
  serveFile(ctx, req).catch((err: unknown) => {
    // Reading the file or binding a port failed: an error of ours, not the client's.
    ctx.active.delete(key)?.socket?.close();
    counters.errors += 1;
    ctx.trace(key, "error", { file: d.filename, reason: (err as Error).message });
    log.error({ err, peer: key, file: d.filename }, "tftp: transfer setup failed");
    if (!ctx.closed) refuse(ctx, peer, ERR.NOT_DEFINED, "server error").catch(() => {});
  });
}
