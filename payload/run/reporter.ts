// Sends RunEvents to the server in batches (POST /api/v1/run/:token/events)
// and prints them on the console. A slow or briefly unreachable server must
// not stop the install: events stay queued and are retried; `seq` lets the
// server drop duplicates when a retried batch had in fact arrived.
import { z } from "zod";
import { eventBatchSchema, runEventSchema, type RunEvent } from "../spec/events.ts";

export type EventInput = Omit<RunEvent, "seq" | "time" | "phase">;

export interface ReporterOptions {
  server?: string;
  token?: string;
  phase: 1 | 2 | 3;
  fetch?: typeof fetch;
  now?: () => Date;
  write?: (line: string) => void;
  /** Delay before a batch is sent, so log lines travel together. */
  batchDelayMs?: number;
  retryDelayMs?: number;
  maxAttempts?: number;
}

const MAX_BATCH = 500;
/** The server parses at most 1 MB per batch (server/http/run-api.ts); stay well under. */
const MAX_BATCH_BYTES = 512 * 1024;

/** The queue's head, up to MAX_BATCH events and MAX_BATCH_BYTES of JSON (at least one event). */
export function takeBatch(queue: RunEvent[]): RunEvent[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < MAX_BATCH) {
    bytes += Buffer.byteLength(JSON.stringify(queue[n])) + 1;
    if (n > 0 && bytes > MAX_BATCH_BYTES) break;
    n += 1;
  }
  return queue.slice(0, n);
}

export class Reporter {
  private seq = 0;
  private queue: RunEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private lastProgress = new Map<string, number>();

  constructor(private readonly o: ReporterOptions) {}

  emit(e: EventInput): void {
    const ev: RunEvent = {
      seq: ++this.seq,
      time: (this.o.now?.() ?? new Date()).toISOString(),
      phase: this.o.phase,
      ...e,
    };
    this.print(ev);
    if (!this.o.server || !this.o.token) return;
    // An event the server would refuse (a message over 64 KiB) must not stay
    // at the head of the queue and hold back every batch after it.
    const checked = runEventSchema.safeParse(ev);
    if (!checked.success) {
      this.warn(`event ${ev.seq} (${ev.kind}) not reported: ${z.prettifyError(checked.error)}`);
      return;
    }
    this.queue.push(ev);
    // Not awaited: emit() is called from output callbacks; flush() never
    // rejects (a failed send is logged and stays queued for the next one).
    if (this.queue.length >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.o.batchDelayMs ?? 300);
  }

  /** Progress, at most every 2% or 2 s per step, so a 500 MB extract is not 100k events. */
  progress(step: string, done: number, total: number | undefined, unit = "bytes"): void {
    const key = step;
    const last = this.lastProgress.get(key) ?? -Infinity;
    const now = Date.now();
    const pct = total ? done / total : 0;
    const lastPct = (this.lastProgress.get(`${key}%`) ?? -1) as number;
    if (done !== total && now - last < 2000 && pct - lastPct < 0.02) return;
    this.lastProgress.set(key, now);
    this.lastProgress.set(`${key}%`, pct);
    this.emit({
      kind: "progress",
      step,
      progress: { done, ...(total !== undefined ? { total } : {}), unit },
    });
  }

  /**
   * Reports with `token` from now on, including events still queued: after
   * the phase-2 rotation the phase-1 token is revoked, and the server takes
   * phase-1 events (first-boot, unmount, phase-done) under the new one.
   */
  useToken(token: string): void {
    this.o.token = token;
  }

  /**
   * Sends everything queued; resolves when the queue is empty or retries ran
   * out. Never rejects: an error is logged, so one bad send neither breaks
   * the chain of later sends nor ends the install as an unhandled rejection.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.sending = this.sending
      .then(() => this.drain())
      .catch((err: unknown) => this.warn(`could not report events: ${(err as Error).message}`));
    return this.sending;
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = takeBatch(this.queue);
      const ok = await this.post(batch);
      if (!ok) return; // kept queued; the next flush tries again
      this.queue.splice(0, batch.length);
    }
  }

  private async post(events: RunEvent[]): Promise<boolean> {
    const url = `${this.o.server!.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(this.o.token!)}/events`;
    const body = JSON.stringify(eventBatchSchema.parse({ events }));
    const f = this.o.fetch ?? fetch;
    const attempts = this.o.maxAttempts ?? 6;
    let why = "";
    for (let i = 0; i < attempts; i++) {
      if (i > 0)
        await new Promise((r) => setTimeout(r, (this.o.retryDelayMs ?? 500) * 2 ** (i - 1)));
      try {
        const res = await f(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        if (res.ok) return true;
        why = `HTTP ${res.status}`;
        // A revoked token or a rejected batch will not improve by resending.
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
          break;
      } catch (err) {
        why = (err as Error).message;
      }
    }
    this.o.write?.(
      `automagic-install: could not report ${events.length} event(s) to ${url}: ${why}`,
    );
    if (!this.o.write) process.stderr.write(`automagic-install: could not report events: ${why}\n`);
    return false;
  }

  private warn(message: string): void {
    if (this.o.write) this.o.write(`automagic-install: ${message}`);
    else process.stderr.write(`automagic-install: ${message}\n`);
  }

  private print(e: RunEvent): void {
    const w = this.o.write ?? ((l: string) => process.stdout.write(l + "\n"));
    const step = e.step ? `[${e.step}] ` : "";
    switch (e.kind) {
      case "progress": {
        const p = e.progress!;
        const pct = p.total ? ` ${((100 * p.done) / p.total).toFixed(0)}%` : "";
        w(`${step}${p.done}${p.total ? `/${p.total}` : ""} ${p.unit ?? ""}${pct}`);
        break;
      }
      case "log":
        w(`${step}${e.message ?? ""}`);
        break;
      case "step-fail":
        w(
          `${step}FAILED: ${e.message ?? ""}${e.device ? `\n  device: ${e.device}` : ""}${e.command ? `\n  command: ${e.command}` : ""}${e.exitCode !== undefined ? `\n  exit code: ${e.exitCode}` : ""}${e.stderrTail ? `\n  stderr:\n${e.stderrTail.replace(/^/gm, "    ")}` : ""}`,
        );
        break;
      default:
        w(`${step}${e.kind}${e.message ? `: ${e.message}` : ""}`);
    }
  }
}
