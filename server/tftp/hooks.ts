// What server/tftp hands back and takes besides its config: the server's
// face, its counters, and the hooks (`serve` fills them in; tests pass fakes).
import type { Log } from "../log.ts";
import type { UdpSocketFactory } from "../net/udp.ts";
import type { Clock } from "./transfer.ts";

export interface TftpTraceEvent {
  peer: string;
  source: "tftp";
  what: "rrq" | "done" | "error";
  detail: Record<string, unknown>;
}

export interface TftpHooks {
  onTrace?(ev: TftpTraceEvent): void;
  log?: Log;
  clock?: Clock;
  /** Opens the listening socket and one per transfer. Default: node:dgram (openUdpSocket). */
  socket?: UdpSocketFactory;
  /**
   * The listening socket errored or closed under the running server: the
   * server has closed itself (it would answer nobody) and says which socket.
   * `serve` exits non-zero on it; systemd restarts it (Restart=on-failure).
   */
  onFatal?(err: Error): void;
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
