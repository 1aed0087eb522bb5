// Logging dropped datagrams at a bounded cost: under a flood each drop must
// cost a counter, not a log line. The first drop of a quiet spell is logged
// at once with its details; later ones are counted and summarised once per
// interval, so a flood writes one line per interval however fast it comes.

export type Emit = (obj: object, msg: string) => void;

export const DROP_LOG_INTERVAL_MS = 10_000;

export class DropLog {
  private count = 0;
  private last: object | undefined;
  private since = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `what` names the dropped things in the messages ("oversized datagrams"). */
  constructor(
    private readonly emit: Emit,
    private readonly what: string,
    private readonly intervalMs = DROP_LOG_INTERVAL_MS,
  ) {}

  note(detail: object): void {
    if (this.timer) {
      this.count += 1;
      this.last = detail;
      return;
    }
    this.emit(
      { ...detail, summaryEverySeconds: this.intervalMs / 1000 },
      `dhcp: ${this.what} dropped`,
    );
    this.arm();
  }

  /** Stops the timer and logs what is still uncounted. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private arm(): void {
    this.since = Date.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Quiet for a whole interval: the next drop is logged at once again.
      if (this.flush()) this.arm();
    }, this.intervalMs);
    this.timer.unref();
  }

  private flush(): boolean {
    if (this.count === 0) return false;
    this.emit(
      { count: this.count, seconds: Math.round((Date.now() - this.since) / 1000), last: this.last },
      `dhcp: ${this.count} more ${this.what} dropped`,
    );
    this.count = 0;
    this.last = undefined;
    return true;
  }
}
