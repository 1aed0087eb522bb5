// Build progress: the builder reports phases and byte counts through one
// callback; the CLI renders them for people or, with --json, one JSON object
// per line for machines.

export type Phase =
  "inputs" | "root" | "strip" | "modules" | "pack" | "payload" | "overlay" | "publish";

export interface ProgressEvent {
  phase: Phase;
  message: string;
  /** Bytes written so far (packing) or the size of what was produced. */
  bytes?: number;
  /** Seconds since the build began. */
  elapsed: number;
  cached?: boolean;
}

export type OnProgress = (ev: ProgressEvent) => void;

/** Pure: one human line. */
export function renderProgress(ev: ProgressEvent): string {
  const t = ev.elapsed.toFixed(1).padStart(6);
  const size = ev.bytes === undefined ? "" : ` (${formatBytes(ev.bytes)})`;
  return `[${t}s] ${ev.phase.padEnd(8)} ${ev.message}${size}${ev.cached ? " [cached]" : ""}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A clock-bound emitter: `emit(phase, message, extra)` stamps elapsed time. */
export function progressEmitter(
  on: OnProgress,
  now: () => number = () => performance.now(),
): (phase: Phase, message: string, extra?: { bytes?: number; cached?: boolean }) => void {
  const t0 = now();
  return (phase, message, extra = {}) =>
    on({ phase, message, elapsed: (now() - t0) / 1000, ...extra });
}
