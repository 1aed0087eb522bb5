// Fake UDP sockets for unit tests of the DHCP and TFTP servers: a factory
// (server/net/udp.ts's UdpSocketFactory) that hands out sockets recording
// what the server sends; a test delivers datagrams, errors and closes.
import { EventEmitter } from "node:events";
import type { UdpOpenOptions, UdpPeer, UdpSocket, UdpSocketFactory } from "../../server/net/udp.ts";

export interface Sent {
  msg: Buffer;
  to: UdpPeer;
}

export class FakeUdpSocket extends EventEmitter implements UdpSocket {
  sent: Sent[] = [];
  closed = false;
  constructor(
    readonly opts: UdpOpenOptions,
    private readonly bound: UdpPeer,
  ) {
    super();
  }
  send(
    msg: Buffer | Buffer[],
    port?: number,
    address?: string,
    cb?: (err: Error | null) => void,
  ): void {
    if (this.closed) throw new Error("Not running");
    const to = port === undefined ? this.opts.connect : { address: address!, port };
    if (!to) throw new Error("send without a destination on an unconnected socket");
    this.sent.push({ msg: Array.isArray(msg) ? Buffer.concat(msg) : msg, to });
    if (cb) queueMicrotask(() => cb(null));
  }
  close(cb?: () => void): void {
    if (this.closed) throw new Error("Not running");
    this.closed = true;
    queueMicrotask(() => {
      this.emit("close");
      cb?.();
    });
  }
  address(): UdpPeer {
    return { ...this.bound };
  }
  /** A datagram from `from` arrives. */
  deliver(msg: Buffer, from: UdpPeer): void {
    this.emit("message", msg, { ...from, family: "IPv4", size: msg.length });
  }
  /** What was sent since the last take(). */
  take(): Sent[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}

/** Opens FakeUdpSockets; port 0 gets 50000, 50001, ...; `failNext` makes the next open reject. */
export class FakeUdpNet {
  readonly sockets: FakeUdpSocket[] = [];
  private nextPort = 50_000;
  failNext: Error | undefined;

  readonly open: UdpSocketFactory = async (o) => {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    const port = o.port === 0 ? this.nextPort++ : o.port;
    const s = new FakeUdpSocket(o, { address: o.address, port });
    this.sockets.push(s);
    return s;
  };

  /** The open socket bound to address:port. */
  at(address: string, port: number): FakeUdpSocket {
    const s = this.sockets.find(
      (x) => !x.closed && x.address().address === address && x.address().port === port,
    );
    if (!s) throw new Error(`no open fake socket on ${address}:${port}`);
    return s;
  }
}
