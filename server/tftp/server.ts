// startTftpServer: validates the config, binds the listening port and hands
// every datagram to requests.ts; each transfer runs on its own socket
// (serve-file.ts). Only start-up errors throw. A listening socket that errors
// or closes under the running server closes the server and reports it
// (hooks.onFatal), as DHCP's does.
import { readFile, realpath } from "node:fs/promises";
import { isIPv6 } from "node:net";
import { parseTftpConfig, type TftpConfig } from "./config.ts";
import { ContentCache } from "./content.ts";
import type { TftpContext } from "./context.ts";
import type { TftpHooks, TftpServer } from "./hooks.ts";
import { onRequest } from "./requests.ts";
import { silentLog } from "../log.ts";
import { Slots } from "./slots.ts";
import { systemClock } from "./transfer.ts";
import {
  closeSocket,
  openFailure,
  openUdpSocket,
  socketName,
  watchListening,
  type UdpSocket,
} from "../net/udp.ts";

export type { TftpConfig } from "./config.ts";
export type { TftpHooks, TftpServer, TftpStats, TftpTraceEvent } from "./hooks.ts";

async function mtuCap(iface: string | undefined, ipv6: boolean): Promise<number> {
  if (!iface) return 65464;
  const text = await readFile(`/sys/class/net/${iface}/mtu`, "utf8").catch((err: unknown) => {
    throw new Error(`tftp: interface ${iface}: cannot read its MTU`, { cause: err });
  });
  // IP header + UDP header (8) + TFTP DATA header (4).
  return Number(text.trim()) - (ipv6 ? 40 : 20) - 8 - 4;
}

async function tftpContext(input: TftpConfig, hooks: TftpHooks): Promise<TftpContext> {
  const cfg = parseTftpConfig(input);
  const log = hooks.log ?? silentLog;
  const realRoot = await realpath(cfg.root).catch((err: unknown) => {
    throw new Error(`tftp: root ${cfg.root} does not exist`, { cause: err });
  });
  const type = isIPv6(cfg.address) ? "udp6" : "udp4";
  return {
    cfg,
    realRoot,
    type,
    limits: {
      maxBlksize: Math.min(cfg.maxBlksize ?? 65464, await mtuCap(cfg.interface, type === "udp6")),
      maxWindowsize: cfg.maxWindowsize ?? 64,
      maxTimeout: cfg.maxTimeoutOption ?? 5,
    },
    cache: new ContentCache(),
    counters: { transfers: 0, errors: 0, malformed: 0 },
    active: new Slots({
      total: cfg.maxTransfers ?? 512,
      perAddress: cfg.maxTransfersPerAddress ?? 8,
    }),
    stray: new Set(),
    closed: false,
    log,
    clock: hooks.clock ?? systemClock,
    open: hooks.socket ?? openUdpSocket,
    trace: (peer, what, detail) => {
      try {
        hooks.onTrace?.({ peer, source: "tftp", what, detail });
      } catch (err) {
        log.warn({ err, peer }, "tftp: onTrace hook threw");
      }
    },
  };
}

export async function startTftpServer(
  input: TftpConfig,
  hooks: TftpHooks = {},
): Promise<TftpServer> {
  const ctx = await tftpContext(input, hooks);
  const { cfg, log } = ctx;
  const main = await ctx
    .open({ type: ctx.type, address: cfg.address, port: cfg.port ?? 69, recvBufferSize: 1 << 20 })
    .catch((err: unknown) => {
      throw openFailure("tftp", err);
    });
  main.on("message", (msg, rinfo) => {
    try {
      onRequest(ctx, msg, rinfo);
    } catch (err) {
      ctx.counters.malformed += 1;
      log.error({ err, peer: `${rinfo.address}:${rinfo.port}` }, "tftp: datagram handling threw");
    }
  });
  const port = main.address().port;
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= closeAll(ctx, main));
  const name = socketName({ address: cfg.address, port });
  watchListening(
    main,
    "tftp",
    name,
    () => !closing,
    (err) => {
      log.error({ err }, err.message);
      void close().then(() => hooks.onFatal?.(err));
    },
  );
  log.info({ address: cfg.address, port, root: ctx.realRoot, ...ctx.limits }, "tftp: listening");

  return {
    port,
    stats: () => ({ ...ctx.counters, active: ctx.active.size }),
    close,
  };
}

async function closeAll(ctx: TftpContext, main: UdpSocket): Promise<void> {
  ctx.closed = true;
  for (const slot of ctx.active.clear()) {
    if (slot.transfer) slot.transfer.abort("server closing");
    else slot.socket?.close();
  }
  for (const s of ctx.stray) s.close();
  ctx.stray.clear();
  await closeSocket(main);
}
