// The socket loop: receive on the listening port, decide (request.ts), then
// act — refuse with an ERROR, or open a fresh socket (the server's TID, RFC
// 1350 section 4) and run a Transfer on it. Input never throws out of here:
// a bad datagram is counted and dropped; only a failed bind ends start-up.
import dgram from "node:dgram";
import { readFile, realpath } from "node:fs/promises";
import { isIPv6 } from "node:net";
import { ContentCache } from "./content.ts";
import { negotiate } from "./options.ts";
import { encodeError, ERR } from "./packet.ts";
import { resolveInRoot } from "./paths.ts";
import { decideRequest } from "./request.ts";
import { Slots } from "./slots.ts";
import { systemClock, Transfer, type Clock, type Peer } from "./transfer.ts";

export interface TftpTraceEvent {
  peer: string;
  source: "tftp";
  what: "rrq" | "done" | "error";
  detail: Record<string, unknown>;
}

type LogFn = (obj: object, msg?: string) => void;
export interface TftpLogger {
  info: LogFn;
  warn: LogFn;
  debug: LogFn;
  error: LogFn;
}

export interface TftpConfig {
  /** Directory served read-only (the iPXE binaries folder). */
  root: string;
  address: string;
  /** Default 69; 0 picks a free port (tests). */
  port?: number;
  /** Interface the address lives on; its MTU caps blksize so blocks are never fragmented. */
  interface?: string;
  /** Default 65464 (RFC 2348 maximum). */
  maxBlksize?: number;
  /** Default 64. */
  maxWindowsize?: number;
  /** Concurrent transfers before new requests are refused. Default 512. */
  maxTransfers?: number;
  /**
   * Concurrent transfers from one source address. Default 8: a PXE ROM or
   * iPXE fetches one file at a time; 8 leaves room for retries and tsize
   * probes while one host (or one spoofed address) can no longer hold all
   * the slots.
   */
  maxTransfersPerAddress?: number;
  /** Retransmissions of one window before a transfer is abandoned. Default 5. */
  maxRetries?: number;
  /**
   * Retransmissions of the first packet (OACK or DATA 1) while the peer has
   * not answered at all. Default 2: a spoofed RRQ gets at most 3 packets back
   * (at 0, 1 and 3 s), then silence; a real client answers in milliseconds.
   */
  firstRetries?: number;
  /** Cap of the exponential back-off. Default 8000 ms. */
  maxTimeoutMs?: number;
  /**
   * Largest RFC 2349 `timeout` (seconds) we accept; a larger one is left out
   * of the OACK (the RFC lets the server only echo or omit it). Default 5.
   */
  maxTimeoutOption?: number;
  /**
   * A transfer's lifetime: one still running after this is ended with an
   * ERROR. Default 300000 ms (5 min): undionly.kpxe or snponly.efi (< 1 MB)
   * at blksize 512 with 10% loss and 1-2 s per lost packet takes ~3 min.
   */
  maxTransferMs?: number;
  onTrace?(ev: TftpTraceEvent): void;
  log?: TftpLogger;
  clock?: Clock;
}

export interface TftpStats {
  /** Transfers started (a file was found and the first packet sent). */
  transfers: number;
  /** Requests refused plus transfers that ended in an error or a timeout. */
  errors: number;
  /** Datagrams dropped because they did not decode. */
  malformed: number;
  /** Transfers in flight right now. */
  active: number;
}

export interface TftpServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
  stats(): TftpStats;
}

const noop: LogFn = () => {};
const silent: TftpLogger = { info: noop, warn: noop, debug: noop, error: noop };

async function mtuCap(iface: string | undefined, ipv6: boolean): Promise<number> {
  if (!iface) return 65464;
  const text = await readFile(`/sys/class/net/${iface}/mtu`, "utf8").catch((err: unknown) => {
    throw new Error(`tftp: interface ${iface}: cannot read its MTU`, { cause: err });
  });
  // IP header + UDP header (8) + TFTP DATA header (4).
  return Number(text.trim()) - (ipv6 ? 40 : 20) - 8 - 4;
}

export async function startTftpServer(cfg: TftpConfig): Promise<TftpServer> {
  const log = cfg.log ?? silent;
  const clock = cfg.clock ?? systemClock;
  const realRoot = await realpath(cfg.root).catch((err: unknown) => {
    throw new Error(`tftp: root ${cfg.root} does not exist`, { cause: err });
  });
  const type = isIPv6(cfg.address) ? "udp6" : "udp4";
  const limits = {
    maxBlksize: Math.min(cfg.maxBlksize ?? 65464, await mtuCap(cfg.interface, type === "udp6")),
    maxWindowsize: cfg.maxWindowsize ?? 64,
    maxTimeout: cfg.maxTimeoutOption ?? 5,
  };
  const cache = new ContentCache();
  const counters = { transfers: 0, errors: 0, malformed: 0 };
  const active = new Slots<{ transfer?: Transfer; socket?: dgram.Socket }>({
    total: cfg.maxTransfers ?? 512,
    perAddress: cfg.maxTransfersPerAddress ?? 8,
  });
  const stray = new Set<dgram.Socket>();
  let closed = false;
  const trace = (peer: string, what: TftpTraceEvent["what"], detail: Record<string, unknown>) => {
    try {
      cfg.onTrace?.({ peer, source: "tftp", what, detail });
    } catch (err) {
      log.warn({ err, peer }, "tftp: onTrace hook threw");
    }
  };

  const openSocket = async (): Promise<dgram.Socket> => {
    const s = dgram.createSocket(type);
    s.on("error", (err) => log.warn({ err }, "tftp: transfer socket error"));
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind({ address: cfg.address, port: 0, exclusive: true }, () => {
        s.off("error", reject);
        resolve();
      });
    });
    return s;
  };

  /** Errors come from a fresh port too: clients lock onto the first reply's port. */
  const refuse = async (peer: Peer, code: number, message: string): Promise<void> => {
    const s = await openSocket();
    stray.add(s);
    s.send(encodeError(code, message), peer.port, peer.address, () => {
      stray.delete(s);
      s.close();
    });
  };

  const serve = async (
    key: string,
    peer: Peer,
    filename: string,
    mode: "octet" | "netascii",
    options: [string, string][],
  ) => {
    const slot = active.get(key) ?? {};
    const t0 = clock.now();
    const resolved = await resolveInRoot(realRoot, filename);
    if (closed) return;
    if (!resolved.ok) {
      active.delete(key);
      counters.errors += 1;
      trace(key, "error", { file: filename, code: resolved.code, reason: resolved.reason });
      log.info({ peer: key, file: filename, reason: resolved.reason }, "tftp: request refused");
      await refuse(peer, resolved.code, resolved.message);
      return;
    }
    const content = await cache.acquire(resolved.path, mode, resolved.version);
    const socket = await openSocket().catch((err: unknown) => {
      content.release();
      throw err;
    });
    if (closed) {
      content.release();
      socket.close();
      return;
    }
    slot.socket = socket;
    // Connecting the transfer socket makes the kernel enforce the TID (a
    // datagram from any other ip:port never reaches us; Transfer checks it
    // again), spares node an address lookup per send, and turns a vanished
    // client's ICMP port-unreachable into a socket error that ends the transfer.
    await new Promise<void>((resolve) => socket.connect(peer.port, peer.address, resolve));
    if (closed) {
      content.release();
      socket.close();
      return;
    }
    const wire = {
      send: (msg: Buffer | Buffer[], port: number, address: string) => {
        if (port === peer.port && address === peer.address) socket.send(msg);
      },
      close: () => socket.close(),
    };
    const n = negotiate(options, content.data.length, limits);
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
        active.delete(key);
        const detail = {
          file: filename,
          bytes: content.data.length,
          blksize: n.blksize,
          windowsize: n.windowsize,
          ms: Math.round(clock.now() - t0),
        };
        if (result.ok) {
          trace(key, "done", detail);
          log.info({ peer: key, ...detail }, "tftp: transfer done");
        } else {
          counters.errors += 1;
          trace(key, "error", { ...detail, reason: result.reason });
          log.info({ peer: key, ...detail, reason: result.reason }, "tftp: transfer failed");
        }
      },
    });
    slot.transfer = transfer;
    socket.on("error", (err) => transfer.abort(`socket: ${err.message}`));
    socket.on("message", (msg, rinfo) => {
      const r = transfer.receive(msg, { address: rinfo.address, port: rinfo.port });
      if (r === "malformed") counters.malformed += 1;
    });
    counters.transfers += 1;
    transfer.start();
  };

  const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo) => {
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
      trace(key, "error", { file: d.filename, code: d.code, reason: d.reason });
      refuse(peer, d.code, d.message).catch((err: unknown) => log.warn({ err }, "tftp: refuse"));
      return;
    }
    if (active.has(key)) return; // retransmitted RRQ: the running transfer answers it
    trace(key, "rrq", { file: d.filename, mode: d.mode, options: Object.fromEntries(d.options) });
    const full = active.refusal(peer.address);
    if (full) {
      counters.errors += 1;
      trace(key, "error", { file: d.filename, code: ERR.NOT_DEFINED, reason: full });
      refuse(peer, ERR.NOT_DEFINED, full).catch((err: unknown) =>
        log.warn({ err }, "tftp: refuse"),
      );
      return;
    }
    active.add(key, peer.address, {});
    serve(key, peer, d.filename, d.mode, d.options).catch((err: unknown) => {
      // Reading the file or binding a port failed: an error of ours, not the client's.
      active.delete(key)?.socket?.close();
      counters.errors += 1;
      trace(key, "error", { file: d.filename, reason: (err as Error).message });
      log.error({ err, peer: key, file: d.filename }, "tftp: transfer setup failed");
      if (!closed) refuse(peer, ERR.NOT_DEFINED, "server error").catch(() => {});
    });
  };

  const main = dgram.createSocket({ type, recvBufferSize: 1 << 20 });
  main.on("message", (msg, rinfo) => {
    try {
      onMessage(msg, rinfo);
    } catch (err) {
      counters.malformed += 1;
      log.error({ err, peer: `${rinfo.address}:${rinfo.port}` }, "tftp: datagram handling threw");
    }
  });
  await new Promise<void>((resolve, reject) => {
    main.once("error", reject);
    main.bind({ address: cfg.address, port: cfg.port ?? 69, exclusive: true }, () => {
      main.off("error", reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new Error(
      `tftp: cannot bind ${cfg.address}:${cfg.port ?? 69}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  });
  main.on("error", (err) => log.error({ err }, "tftp: listening socket error"));
  const port = main.address().port;
  log.info({ address: cfg.address, port, root: realRoot, ...limits }, "tftp: listening");

  return {
    port,
    stats: () => ({ ...counters, active: active.size }),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const slot of active.clear()) {
        if (slot.transfer) slot.transfer.abort("server closing");
        else slot.socket?.close();
      }
      for (const s of stray) s.close();
      stray.clear();
      await new Promise<void>((resolve) => main.close(() => resolve()));
    },
  };
}
