// startDhcpServer: validates the config, opens what the mode needs (lease
// journal, sockets), and runs the loop (loop.ts) on every listening socket.
// Only start-up errors throw. A listening socket that errors or closes under
// the running server closes the server and reports it (hooks.onFatal).
import type { BootConfig } from "./boot.ts";
import { parseDhcpConfig, type DhcpConfig } from "./config.ts";
import type { FullContext } from "./full.ts";
import { openFullContext, refuseBesideOtherServer } from "./full-setup.ts";
import { zeroDhcpStats, type DhcpHooks, type DhcpServer } from "./hooks.ts";
import type { LeaseJournal } from "./journal.ts";
import { datagramCap, interfaceMtu } from "./limits.ts";
import { silentLog } from "../log.ts";
import { DhcpLoop } from "./loop.ts";
import { deviceBoundUdp, openDhcpSockets, type DhcpSocket } from "./socket.ts";
import { closeSocket, openFailure, socketName, watchListening } from "../net/udp.ts";

export type { DhcpHooks, DhcpServer, DhcpStats, DhcpTraceEvent } from "./hooks.ts";

const offServer: DhcpServer = {
  close: async () => {},
  leases: () => [],
  leaseHolder: () => undefined,
  stats: zeroDhcpStats,
};

export async function startDhcpServer(
  input: DhcpConfig,
  hooks: DhcpHooks = {},
): Promise<DhcpServer> {
  const cfg = parseDhcpConfig(input);
  const log = hooks.log ?? silentLog;
  if (cfg.mode === "off") return offServer;
  const boot: BootConfig = {
    bootfiles: cfg.bootfiles,
    ipxeScriptUrl: cfg.ipxeScriptUrl,
    tftpServer: cfg.tftpServer ?? cfg.serverIp,
  };
  const port = cfg.port ?? 67;
  const cap = datagramCap(interfaceMtu(cfg.interface));
  let full: FullContext | undefined;
  let journal: LeaseJournal | undefined;
  if (cfg.mode === "full") {
    await refuseBesideOtherServer(cfg);
    ({ full, journal } = await openFullContext(cfg, boot, hooks, log));
  }
  let sockets: DhcpSocket[];
  try {
    const open = hooks.socket ?? deviceBoundUdp(cfg.interface);
    sockets = await openDhcpSockets(open, cfg.serverIp, port, cfg.proxyPort ?? 4011).catch(
      (err: unknown) => {
        throw openFailure("dhcp", err);
      },
    );
  } catch (err) {
    await journal?.close();
    throw err;
  }
  const loop = new DhcpLoop({ serverIp: cfg.serverIp, boot, cap, full, journal, hooks, log });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= closeAll(sockets, loop, journal));
  const stop = (err: Error) => {
    log.error({ err }, err.message);
    void close().then(() => hooks.onFatal?.(err));
  };
  for (const s of sockets) {
    if (s.via === "dhcp") {
      if (s.address === "0.0.0.0") loop.broadcastSock = s.sock;
      else loop.unicastSock = s.sock;
    }
    s.sock.on("message", (m, r) => loop.receive(s.sock, s.via, m, r));
    watchListening(s.sock, "dhcp", socketName(s), () => !closing, stop);
  }
  log.info({ mode: cfg.mode, interface: cfg.interface, port, maxDatagram: cap }, "dhcp: serving");

  return {
    close,
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
    stats: () => ({ ...loop.stats }),
  };
}

async function closeAll(
  sockets: DhcpSocket[],
  loop: DhcpLoop,
  journal: LeaseJournal | undefined,
): Promise<void> {
  await Promise.all(sockets.map((s) => closeSocket(s.sock)));
  loop.close();
  await journal?.close();
}
