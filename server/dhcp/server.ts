// The socket loop: receive, decode, decide (full.ts / proxy.ts), persist,
// send. Nothing here decides anything; a bad packet is counted and dropped,
// a handler bug is logged and dropped, only start-up errors throw.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { bindToDevice } from "./bind-device.ts";
import type { BootConfig } from "./boot.ts";
import { decode, encode, messageType, type DhcpPacket } from "./codec.ts";
import { parseDhcpConfig, type DhcpConfig } from "./config.ts";
import { DropLog } from "./drop-log.ts";
import { handleFull, type FullContext } from "./full.ts";
import { macOf } from "./ip.ts";
import { LeaseJournal } from "./journal.ts";
import { LeaseTable } from "./lease-table.ts";
import { datagramCap, interfaceMtu, replyCap } from "./limits.ts";
import { msgTypeName } from "./options.ts";
import type { Outcome } from "./outcome.ts";
import { probeForOtherServer } from "./probe.ts";
import { handleProxy } from "./proxy.ts";

export interface DhcpLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface DhcpTraceEvent {
  mac: string;
  source: "dhcp";
  what: string;
  detail: Record<string, unknown>;
}

export interface DhcpHooks {
  onTrace?(ev: DhcpTraceEvent): void;
  reservationFor?(mac: string): string | undefined;
  log?: DhcpLogger;
}

export interface DhcpStats {
  received: number;
  /** Longer than the link carries (limits.ts): dropped before decoding. */
  oversized: number;
  malformed: number;
  replied: number;
  /** Well-formed but not for us (replies, BOOTP, non-PXE in proxy mode, ...). */
  ignored: number;
  /** Handler or send failures (logged). */
  errors: number;
}

export interface DhcpServer {
  close(): Promise<void>;
  leases(): Array<{ mac: string; ip: string; expires: number }>;
  /** Who holds our lease on `ip`, if anyone (full mode; a map lookup, not a scan). */
  leaseHolder(ip: string): string | undefined;
  stats(): DhcpStats;
}

const RECV_BUFFER_BYTES = 4 * 1024 * 1024;
const COMPACT_CHECK_LINES = 10_000;

const silent: DhcpLogger = { info() {}, warn() {}, error() {} };

async function openSocket(port: number, ifname: string, address: string): Promise<Socket> {
  const sock = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", (err) =>
      reject(new Error(`dhcp: cannot bind UDP port ${port}: ${err.message}`, { cause: err })),
    );
    sock.bind(port, address, () => resolve());
  });
  try {
    await bindToDevice(port, ifname, address);
  } catch (err) {
    sock.close();
    throw err;
  }
  sock.setBroadcast(true);
  // A rack powering on at once sends a burst; a deeper queue rides it out
  // while the event loop is busy (the kernel caps this at rmem_max).
  try {
    sock.setRecvBufferSize(RECV_BUFFER_BYTES);
  } catch {
    // capped or refused: the default buffer still works
  }
  return sock;
}

export async function startDhcpServer(
  input: DhcpConfig,
  hooks: DhcpHooks = {},
): Promise<DhcpServer> {
  const cfg = parseDhcpConfig(input);
  const log = hooks.log ?? silent;
  const stats: DhcpStats = {
    received: 0,
    oversized: 0,
    malformed: 0,
    replied: 0,
    ignored: 0,
    errors: 0,
  };
  if (cfg.mode === "off") {
    return {
      close: async () => {},
      leases: () => [],
      leaseHolder: () => undefined,
      stats: () => ({ ...stats }),
    };
  }
  const boot: BootConfig = {
    bootfiles: cfg.bootfiles,
    ipxeScriptUrl: cfg.ipxeScriptUrl,
    tftpServer: cfg.tftpServer ?? cfg.serverIp,
  };
  const port = cfg.port ?? 67;
  const cap = datagramCap(interfaceMtu(cfg.interface));
  const drops = {
    oversized: new DropLog((o, m) => log.warn(o, m), "oversized datagrams"),
    malformed: new DropLog((o, m) => log.debug?.(o, m), "malformed datagrams"),
    longReply: new DropLog((o, m) => log.warn(o, m), "replies longer than the client takes"),
  };
  const sockets: Socket[] = [];
  let journal: LeaseJournal | undefined;
  let full: FullContext | undefined;

  if (cfg.mode === "full") {
    if (!cfg.force) {
      const other = await probeForOtherServer(cfg.interface, cfg.probeMs ?? 1500);
      if (other) {
        throw new Error(
          `dhcp: another DHCP server (${other.serverId}, from ${other.from}) answers on ` +
            `${cfg.interface}; refusing to start in full mode (use --force to override)`,
        );
      }
    }
    const opened = await LeaseJournal.open(cfg.leaseFile, Date.now(), cfg.leaseSync ?? "write");
    journal = opened.journal;
    const subnets = [cfg.subnet!, ...(cfg.relaySubnets ?? [])].map((s) => ({
      cfg: s,
      table: new LeaseTable(s.poolStart, s.poolEnd),
    }));
    for (const r of opened.records) {
      const s = subnets.find((x) => x.table.inPool(r.ip)) ?? subnets[0]!;
      s.table.restore(r.mac, r.ip, r.expires);
    }
    full = {
      serverIp: cfg.serverIp,
      subnets,
      boot,
      reservationFor: (mac) => {
        try {
          return hooks.reservationFor?.(mac);
        } catch (err) {
          log.error({ err, mac }, "dhcp: reservationFor hook failed; using the pool");
          return undefined;
        }
      },
    };
  }

  const trace = (mac: string, o: Outcome, req: DhcpPacket) => {
    if (!hooks.onTrace) return;
    try {
      hooks.onTrace({
        mac,
        source: "dhcp",
        what: o.trace.what,
        detail: { type: msgTypeName(messageType(req)), ...o.trace.detail },
      });
    } catch (err) {
      log.error({ err }, "dhcp: onTrace hook failed");
    }
  };

  // Broadcast replies leave through the 0.0.0.0 socket; unicast ones (to a
  // relay, to a renewing client) through the socket bound to our address, so
  // they carry our server id as source and a unicast stuck in ARP resolution
  // can never hold up the broadcasts behind it.
  let broadcastSock: Socket | undefined;
  let unicastSock: Socket | undefined;
  const send = (recv: Socket, via: "dhcp" | "pxe", o: Outcome, req: DhcpPacket) => {
    const r = o.reply!;
    const sock =
      via === "pxe" ? recv : r.to.address === "255.255.255.255" ? broadcastSock! : unicastSock!;
    try {
      const bytes = encode(r.packet);
      const most = replyCap(req, cap);
      if (bytes.length > most) {
        stats.errors += 1;
        drops.longReply.note({ to: r.to, bytes: bytes.length, most, file: r.packet.file });
        return;
      }
      sock.send(bytes, r.to.port, r.to.address, (err) => {
        if (err) {
          stats.errors += 1;
          log.warn({ err, to: r.to }, "dhcp: send failed");
        } else stats.replied += 1;
      });
    } catch (err) {
      // Socket already closed (an ACK whose lease write finished after
      // close()) or an encode error: log it, never let it escape the loop.
      stats.errors += 1;
      log.warn({ err, to: r.to }, "dhcp: reply not sent");
    }
  };

  // Renewals append a line each; rewrite the journal to the live leases once
  // it holds four times as many lines (checked every COMPACT_CHECK_LINES).
  let nextCompactCheck = COMPACT_CHECK_LINES;
  const maybeCompact = (j: LeaseJournal) => {
    if (j.appendedLines < nextCompactCheck) return;
    const live = full!.subnets.flatMap((s) => s.table.bound());
    if (j.appendedLines > 4 * live.length) {
      j.requestCompaction(live.map(({ mac, ip, expires }) => ({ mac, ip, expires })));
      nextCompactCheck = COMPACT_CHECK_LINES;
    } else nextCompactCheck = j.appendedLines + COMPACT_CHECK_LINES;
  };

  const onMessage = (sock: Socket, via: "dhcp" | "pxe", msg: Buffer, rinfo: RemoteInfo) => {
    stats.received += 1;
    // Before decoding: a datagram no client sends costs a length check only.
    if (msg.length > cap) {
      stats.oversized += 1;
      drops.oversized.note({ from: rinfo.address, bytes: msg.length, cap });
      return;
    }
    let req: DhcpPacket;
    try {
      req = decode(msg);
    } catch (err) {
      stats.malformed += 1;
      drops.malformed.note({ from: rinfo.address, err: (err as Error).message });
      return;
    }
    if (req.op !== 1 || messageType(req) === undefined) {
      stats.ignored += 1;
      return;
    }
    let o: Outcome;
    try {
      // 4011 is answered the proxy way in full mode too: EDK2 (OVMF) treats a
      // PXEClient offer without option 43 as a BINL offer and asks for the boot
      // file again on 4011 (PxeBcRetryBinlOffer); unanswered, it fails PXE-E16.
      o =
        full && via === "dhcp"
          ? handleFull(req, full)
          : handleProxy(req, { serverIp: cfg.serverIp, boot }, via, rinfo);
    } catch (err) {
      stats.errors += 1;
      log.error({ err, from: rinfo.address }, "dhcp: handler failed; packet dropped");
      return;
    }
    const mac = macOf(req.chaddr, req.hlen);
    trace(mac, o, req);
    if (!o.reply) stats.ignored += 1;
    if (o.persist && journal) {
      maybeCompact(journal);
      journal.append(o.persist).then(
        () => o.reply && send(sock, via, o, req),
        (err: Error) => {
          stats.errors += 1;
          log.error({ err, mac }, "dhcp: lease not persisted; no ACK sent");
        },
      );
    } else if (o.reply) {
      send(sock, via, o, req);
    }
  };

  try {
    // 67 must hear broadcasts, so one socket binds 0.0.0.0; unicast to us
    // (relays, renewals) lands on the socket bound to our address. 4011 is
    // unicast to our server id, and binding that address makes the ACK come
    // from it too (firmware matches the reply's source against the server).
    const via: Array<["dhcp" | "pxe", number, string]> = [
      ["dhcp", port, "0.0.0.0"],
      ["dhcp", port, cfg.serverIp],
    ];
    via.push(["pxe", cfg.proxyPort ?? 4011, cfg.serverIp]);
    for (const [kind, p, addr] of via) {
      const sock = await openSocket(p, cfg.interface, addr);
      if (kind === "dhcp") {
        if (addr === "0.0.0.0") broadcastSock = sock;
        else unicastSock = sock;
      }
      sock.on("message", (m, r) => onMessage(sock, kind, m, r));
      sock.on("error", (err) => log.error({ err, port: p }, "dhcp: socket error"));
      sockets.push(sock);
    }
  } catch (err) {
    for (const s of sockets) s.close();
    await journal?.close();
    throw err;
  }
  log.info({ mode: cfg.mode, interface: cfg.interface, port, maxDatagram: cap }, "dhcp: serving");

  return {
    async close() {
      await Promise.all(sockets.map((s) => new Promise<void>((res) => s.close(() => res()))));
      for (const d of Object.values(drops)) d.close();
      await journal?.close();
    },
    leases() {
      if (!full) return [];
      return full.subnets.flatMap((s) =>
        s.table.bound().map(({ mac, ip, expires }) => ({ mac, ip, expires })),
      );
    },
    leaseHolder(ip) {
      for (const s of full?.subnets ?? []) {
        const mac = s.table.holderOf(ip);
        if (mac) return mac;
      }
      return undefined;
    },
    stats: () => ({ ...stats }),
  };
}
