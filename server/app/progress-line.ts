// Progress of a long step (packing a tarball, archiving a root): on a
// terminal one line redrawn in place, a bar when the total is known; in a log
// (stdout not a TTY) a plain line per tenth, so CI logs stay short and greppable.

export interface LineSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressLine {
  /** `done` of `total` units so far (total unknown: just the count). */
  update(done: number, total?: number): void;
  /** Ends the line: the last state, then a newline (TTY) or a last plain line. */
  end(summary?: string): void;
}

const MiB = 1024 * 1024;
const mib = (n: number) => (n / MiB).toFixed(1);

/** Pure: "label [#######.............]  35% 100.0/286.0 MiB" (no total: "label 100.0 MiB"). */
export function renderBar(label: string, done: number, total?: number, width = 24): string {
  if (!total) return `${label} ${mib(done)} MiB`;
  const frac = Math.min(1, Math.max(0, done / total));
  const full = Math.round(frac * width);
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  return `${label} [${"#".repeat(full)}${".".repeat(width - full)}] ${pct} ${mib(Math.min(done, total))}/${mib(total)} MiB`;
}

export function progressLine(
  label: string,
  out: LineSink,
  opts: { now?: () => number; everyMs?: number } = {},
): ProgressLine {
  const now = opts.now ?? (() => performance.now());
  const everyMs = opts.everyMs ?? 200;
  const tty = Boolean(out.isTTY);
  let last = { done: 0, total: undefined as number | undefined };
  let drawnAt = -Infinity;
  let tenth = 0;
  let plainAt = now();
  return {
    update(done, total) {
      last = { done, total };
      if (tty) {
        if (now() - drawnAt < everyMs) return;
        drawnAt = now();
        out.write(`\r${renderBar(label, done, total)}\x1b[K`);
        return;
      }
      // a log: one line per tenth of the total, or per 10 s when there is none
      if (total) {
        const t = Math.floor((10 * Math.min(done, total)) / total);
        if (t <= tenth) return;
        tenth = t;
      } else {
        if (now() - plainAt < 10_000) return;
        plainAt = now();
      }
      out.write(`${renderBar(label, done, total)}\n`);
    },
    end(summary) {
      const text = summary ?? renderBar(label, last.done, last.total);
      if (tty) out.write(`\r${text}\x1b[K\n`);
      else if (summary !== undefined || tenth < 10) out.write(`${text}\n`);
    },
  };
}
