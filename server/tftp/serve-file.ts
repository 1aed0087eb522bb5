// One accepted RRQ: resolve the file inside the root, take its bytes from the
// cache, open the transfer's own connected socket and run a Transfer on it.
import { openTransferSocket, refuse, type TftpContext } from "./context.ts";
import { negotiate } from "./options.ts";
import type { OptionList } from "./packet.ts";
import { resolveInRoot } from "./paths.ts";
import { Transfer, type Peer } from "./transfer.ts";

export interface FileRequest {
  /** "address:port", the slot's key. */
  key: string;
  peer: Peer;
  filename: string;
  mode: "octet" | "netascii";
  options: OptionList;
}

export async function serveFile(ctx: TftpContext, req: FileRequest): Promise<void> {
  const { key, peer, filename, mode } = req;
  const slot = ctx.active.get(key) ?? {};
  const t0 = ctx.clock.now();
  const resolved = await resolveInRoot(ctx.realRoot, filename);
  if (ctx.closed) return;
  if (!resolved.ok) {
    ctx.active.delete(key);
    ctx.counters.errors += 1;
    ctx.trace(key, "error", { file: filename, code: resolved.code, reason: resolved.reason });
    ctx.log.info({ peer: key, file: filename, reason: resolved.reason }, "tftp: request refused");
    await refuse(ctx, peer, resolved.code, resolved.message);
    return;
  }
  const content = await ctx.cache.acquire(resolved.path, mode, resolved.version);
  // Connecting the transfer socket makes the kernel enforce the TID (a
  // datagram from any other ip:port never reaches us; Transfer checks it
  // again), spares node an address lookup per send, and turns a vanished
  // client's ICMP port-unreachable into a socket error that ends the transfer.
  const socket = await openTransferSocket(ctx, peer).catch((err: unknown) => {
    content.release();
    throw err;
  });
  if (ctx.closed) {
    content.release();
    socket.close();
    return;
  }
  slot.socket = socket;
  const wire = {
    send: (msg: Buffer | Buffer[], port: number, address: string) => {
      if (port === peer.port && address === peer.address) socket.send(msg);
    },
    close: () => socket.close(),
  };
  const n = negotiate(req.options, content.data.length, ctx.limits);
  const { cfg, clock } = ctx;
  const transfer = new Transfer({
    params: {
      size: content.data.length,
      blksize: n.blksize,
      windowsize: n.windowsize,
      timeoutMs: n.timeoutMs,
      maxRetries: cfg.maxRetries ?? 5,
      firstRetries: cfg.firstRetries ?? 2,
      maxTimeoutMs: cfg.maxTimeoutMs ?? 8000,
      lifetimeMs: cfg.maxTransferMs ?? 300_000,
      oack: n.oack.length > 0,
    },
    oack: n.oack,
    data: content.data,
    peer,
    socket: wire,
    clock,
    onEnd: (result) => {
      content.release();
      ctx.active.delete(key);
      const detail = {
        file: filename,
        bytes: content.data.length,
        blksize: n.blksize,
        windowsize: n.windowsize,
        ms: Math.round(clock.now() - t0),
      };
      if (result.ok) {
        ctx.trace(key, "done", detail);
        ctx.log.info({ peer: key, ...detail }, "tftp: transfer done");
      } else {
        ctx.counters.errors += 1;
        ctx.trace(key, "error", { ...detail, reason: result.reason });
        ctx.log.info({ peer: key, ...detail, reason: result.reason }, "tftp: transfer failed");
      }
    },
  });
  slot.transfer = transfer;
  socket.on("error", (err) => transfer.abort(`socket: ${err.message}`));
  socket.on("message", (msg, rinfo) => {
    const r = transfer.receive(msg, { address: rinfo.address, port: rinfo.port });
    if (r === "malformed") ctx.counters.malformed += 1;
  });
  ctx.counters.transfers += 1;
  transfer.start();
}
