// The part of a UDP socket the DHCP and TFTP servers use, and the factory
// that opens one. Both servers take a factory in their hooks, defaulting to
// node:dgram (openUdpSocket, plus SO_BINDTODEVICE for DHCP), so unit tests
// drive them through fake sockets; the namespace tests keep the real ones.
// A node:dgram Socket is a UdpSocket as it is: the default adds no wrapper
// on the per-packet path.
import dgram from "node:dgram";

export interface UdpPeer {
  address: string;
  port: number;
}

export interface UdpSocket {
  /** Without port and address on a connected socket (opened with `connect`). */
  send(
    msg: Buffer | Buffer[],
    port?: number,
    address?: string,
    cb?: (err: Error | null) => void,
  ): void;
  on(event: "message", fn: (msg: Buffer, from: UdpPeer) => void): this;
  on(event: "error", fn: (err: Error) => void): this;
  on(event: "close", fn: () => void): this;
  close(cb?: () => void): void;
  address(): UdpPeer;
}

export interface UdpOpenOptions {
  type: "udp4" | "udp6";
  address: string;
  /** 0 picks a free port. */
  port: number;
  /** SO_REUSEADDR: DHCP's 0.0.0.0:67 and serverIp:67 sockets share the port. */
  reuseAddr?: boolean;
  broadcast?: boolean;
  /** Asked for; the kernel may cap it (rmem_max), which is not an error. */
  recvBufferSize?: number;
  /** Connect after binding: the kernel then drops datagrams from anyone else. */
  connect?: UdpPeer;
}

/**
 * Opens a bound socket. Rejects with an error naming the socket
 * ("cannot bind 10.0.0.1:69: bind EADDRINUSE ..."); its `code` is node's
 * (EADDRINUSE, EACCES, ...) when the bind itself failed. The server adds its name.
 */
export type UdpSocketFactory = (o: UdpOpenOptions) => Promise<UdpSocket>;

export async function openUdpSocket(o: UdpOpenOptions): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: o.type, reuseAddr: o.reuseAddr ?? false });
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind({ address: o.address, port: o.port, exclusive: true }, () => {
      s.off("error", reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw Object.assign(new Error(`cannot bind ${socketName(o)}: ${err.message}`, { cause: err }), {
      code: err.code,
    });
  });
  if (o.broadcast) s.setBroadcast(true);
  if (o.recvBufferSize) {
    try {
      s.setRecvBufferSize(o.recvBufferSize);
    } catch {
      // capped or refused: the default buffer still works
    }
  }
  if (o.connect) {
    const to = o.connect;
    await new Promise<void>((resolve) => s.connect(to.port, to.address, resolve));
  }
  return s;
}

/** The factory's error with the server's name in front; `code` kept (tftp-service reads it). */
export function openFailure(server: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  // bind-device.ts already says "dhcp: cannot bind UDP port 67 to interface ...".
  const message = e.message.startsWith(`${server}: `) ? e.message : `${server}: ${e.message}`;
  return Object.assign(new Error(message, { cause: e }), { code: e.code });
}

/** "0.0.0.0:67" / "[::1]:69": how a log line or an error names a socket. */
export function socketName(o: { address: string; port: number }): string {
  return o.address.includes(":") ? `[${o.address}]:${o.port}` : `${o.address}:${o.port}`;
}

/**
 * Watches a listening socket: when it errors or closes while the server
 * still runs (`running()`), `stop` is called once with an error naming the
 * server and the socket. Such a socket answers nobody any more, and a server
 * that only logged it would look up while it serves nothing.
 */
export function watchListening(
  sock: UdpSocket,
  server: "dhcp" | "tftp",
  name: string,
  running: () => boolean,
  stop: (err: Error) => void,
): void {
  const dead = (why: string, cause?: Error) => {
    if (!running()) return;
    const label = server.toUpperCase();
    stop(new Error(`${server}: socket ${name} ${why}; the ${label} server has stopped`, { cause }));
  };
  sock.on("error", (err) => dead(`failed: ${err.message}`, err));
  sock.on("close", () => dead("closed underneath the server"));
}

/** Closes `sock` and waits; one that already closed underneath does not hold the caller up. */
export function closeSocket(sock: UdpSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
