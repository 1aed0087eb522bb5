// What server/dhcp hands back and takes besides its config: the server's
// face, its counters, and the hooks (`serve` fills them in; tests pass fakes).
import type { Log } from "../log.ts";
import type { UdpSocketFactory } from "../net/udp.ts";

export interface DhcpTraceEvent {
  mac: string;
  source: "dhcp";
  what: string;
  detail: Record<string, unknown>;
}

export interface DhcpHooks {
  onTrace?(ev: DhcpTraceEvent): void;
  reservationFor?(mac: string): string | undefined;
  log?: Log;
  /** Opens the listening sockets. Default: node:dgram bound to the interface (socket.ts). */
  socket?: UdpSocketFactory;
  /**
   * A listening socket errored or closed under the running server: the
   * server has closed itself (it would answer nobody) and says which socket.
   * `serve` exits non-zero on it; systemd restarts it (Restart=on-failure).
   */
  onFatal?(err: Error): void;
}

/** A fresh counter set: every DhcpStats field at zero. */
export function zeroDhcpStats(): DhcpStats {
  return { received: 0, oversized: 0, malformed: 0, replied: 0, ignored: 0, errors: 0 };
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
