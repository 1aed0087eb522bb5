// Fakes for TFTP unit tests: a manual clock and a socket that records sends.
import type { Clock, TransferSocket } from "../../../server/tftp/transfer.ts";

export class FakeClock implements Clock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.size;
  }
}

export class FakeSocket implements TransferSocket {
  sent: Array<{ msg: Buffer; port: number; address: string }> = [];
  closed = false;
  send(msg: Buffer | Buffer[], port: number, address: string): void {
    this.sent.push({ msg: Array.isArray(msg) ? Buffer.concat(msg) : msg, port, address });
  }
  close(): void {
    this.closed = true;
  }
  take(): Array<{ msg: Buffer; port: number; address: string }> {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}
