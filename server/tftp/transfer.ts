// Runs one session (session.ts) against a socket and a clock, both injected
// so unit tests drive it packet by packet with a fake clock. It checks the
// sender of every datagram against the transfer's peer (the TID, RFC 1350
// section 4), decodes, asks the state machine, and performs its actions.
import {
  decode,
  encodeDataHeader,
  encodeError,
  encodeOack,
  ERR,
  type OptionList,
} from "./packet.ts";
import * as session from "./session.ts";

export interface Peer {
  address: string;
  port: number;
}

/** The part of a dgram socket a transfer needs. */
export interface TransferSocket {
  send(msg: Buffer | Buffer[], port: number, address: string): void;
  close(): void;
}

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type TransferResult = { ok: true } | { ok: false; reason: string };

/** What receive() made of a datagram, for the server's counters. */
export type Received = "ok" | "malformed" | "foreign" | "ignored";

export interface TransferOptions {
  params: session.SessionParams;
  oack: OptionList;
  data: Buffer;
  peer: Peer;
  socket: TransferSocket;
  clock: Clock;
  onEnd(result: TransferResult): void;
}

export class Transfer {
  private state: session.SessionState | undefined;
  private timer: unknown;
  private timerAt = 0;
  private deadline = 0;
  private lifetime: unknown;
  private ended = false;

  constructor(private readonly o: TransferOptions) {}

  start(): void {
    // A client that ACKs just before each retransmission never times out;
    // this cap is what bounds how long it can hold a slot.
    this.lifetime = this.o.clock.setTimer(() => {
      this.lifetime = undefined;
      if (this.state) this.apply(session.onExpired(this.o.params, this.state));
    }, this.o.params.lifetimeMs);
    this.apply(session.start(this.o.params));
  }

  receive(msg: Buffer, from: Peer): Received {
    if (this.ended || !this.state) return "ignored";
    if (from.port !== this.o.peer.port || from.address !== this.o.peer.address) {
      // RFC 1350: a packet from a foreign TID gets ERROR 5 and must not
      // disturb the transfer. Never answer an ERROR (avoids ping-pong).
      if (msg.length >= 2 && msg.readUInt16BE(0) !== 5) {
        this.o.socket.send(
          encodeError(ERR.UNKNOWN_TID, "unknown transfer ID"),
          from.port,
          from.address,
        );
      }
      return "foreign";
    }
    const d = decode(msg);
    if (!d.ok) return "malformed";
    const p = d.packet;
    if (p.op === "ack") {
      this.apply(session.onAck(this.o.params, this.state, p.block));
      return "ok";
    }
    if (p.op === "error") {
      this.apply(session.onClientError(this.state, p.code, p.message));
      return "ok";
    }
    return "ignored"; // DATA/RRQ/OACK from our reader make no sense mid-transfer
  }

  /** Ends the transfer without a word to the peer (server shutdown). */
  abort(reason: string): void {
    this.finish({ ok: false, reason });
  }

  private apply(step: session.Step): void {
    this.state = step.state;
    for (const a of step.actions) {
      if (this.ended) return;
      switch (a.kind) {
        case "send-oack":
          this.o.socket.send(encodeOack(this.o.oack), this.o.peer.port, this.o.peer.address);
          break;
        case "send-blocks":
          for (let b = a.from; b <= a.to; b++) this.sendBlock(b);
          break;
        case "arm":
          this.arm(a.ms);
          break;
        case "done":
          this.finish({ ok: true });
          break;
        case "fail":
          if (a.error) {
            const { code, message } = a.error;
            this.o.socket.send(encodeError(code, message), this.o.peer.port, this.o.peer.address);
          }
          this.finish({ ok: false, reason: a.reason });
          break;
      }
    }
  }

  private sendBlock(block: number): void {
    const { start, end } = session.blockRange(this.o.params, block);
    const header = encodeDataHeader(block);
    this.o.socket.send(
      [header, this.o.data.subarray(start, end)],
      this.o.peer.port,
      this.o.peer.address,
    );
  }

  /**
   * Deadline-based timer: an ACK only moves the deadline forward; the one
   * pending timer re-arms itself for the remainder. Lock-step transfers at
   * tens of thousands of ACKs a second would otherwise churn a timer each.
   */
  private arm(ms: number): void {
    const now = this.o.clock.now();
    this.deadline = now + ms;
    if (this.timer !== undefined && this.timerAt <= this.deadline) return;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.schedule(ms);
  }

  private schedule(ms: number): void {
    this.timerAt = this.o.clock.now() + ms;
    this.timer = this.o.clock.setTimer(() => this.onTimer(), ms);
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.ended || !this.state) return;
    const left = this.deadline - this.o.clock.now();
    if (left > 0) {
      this.schedule(left);
      return;
    }
    this.apply(session.onTimeout(this.o.params, this.state));
  }

  private finish(result: TransferResult): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    if (this.lifetime !== undefined) this.o.clock.clearTimer(this.lifetime);
    this.timer = undefined;
    this.lifetime = undefined;
    this.o.socket.close();
    this.o.onEnd(result);
  }
}
