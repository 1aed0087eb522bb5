// Sums a storm up: when the last machine held its initrd, p50/p99 of each
// stage, retries and errors, and what the stack used doing it.
import { STAGES, type MachineResult, type Stage } from "./machine.ts";
import type { Sampled } from "./stacks.ts";
import type { StormOptions } from "./run.ts";

export interface StageFigure {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface StormReport {
  stack: string;
  n: number;
  spreadMs: number;
  ok: number;
  booted: number;
  errors: string[];
  dhcpRetries: number;
  tftpRetries: number;
  strayDhcp: number;
  /** ms from the first power-on until the last machine held its initrd. */
  lastInitrdMs: number;
  /** Per machine: power-on to initrd. */
  toInitrd: StageFigure;
  stages: Partial<Record<Stage, StageFigure>>;
  rssIdleMiB: number;
  rssPeakMiB: number;
  loopMaxMs?: number;
  loopP99MaxMs?: number;
  stateBytes: number;
  tally: Record<string, number>;
}

export function figure(values: number[]): StageFigure {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)] ?? NaN;
  return { n: v.length, p50: at(0.5), p99: at(0.99), max: v[v.length - 1] ?? NaN };
}

/** The stage before `s` a machine went through (its duration starts there). */
function previous(r: MachineResult, s: Stage): number | undefined {
  const i = STAGES.indexOf(s);
  for (let j = i - 1; j >= 0; j--) {
    const t = r.stamps[STAGES[j]!];
    if (t !== undefined) return t;
  }
  return r.start;
}

export function summarize(
  stack: string,
  o: StormOptions,
  results: MachineResult[],
  seen: {
    idle: Sampled;
    samples: Sampled[];
    stateBytes: number;
    tally: Record<string, number>;
    strayDhcp: number;
  },
): StormReport {
  const stages: StormReport["stages"] = {};
  for (const s of STAGES) {
    const d = results.flatMap((r) => {
      const end = r.stamps[s];
      const from = previous(r, s);
      return end !== undefined && from !== undefined ? [end - from] : [];
    });
    if (d.length > 0) stages[s] = figure(d);
  }
  const initrd = results.flatMap((r) => (r.stamps.initrd !== undefined ? [r.stamps.initrd] : []));
  const loops = seen.samples.flatMap((x) => (x.loopMaxMs !== undefined ? [x.loopMaxMs] : []));
  const p99s = seen.samples.flatMap((x) => (x.loopP99Ms !== undefined ? [x.loopP99Ms] : []));
  const errors = results.flatMap((r) => (r.error ? [r.error] : []));
  return {
    stack,
    n: o.n,
    spreadMs: o.spreadMs,
    ok: results.length - errors.length,
    booted: results.filter((r) => r.booted).length,
    errors,
    dhcpRetries: results.reduce((a, r) => a + r.dhcpRetries, 0),
    tftpRetries: results.reduce((a, r) => a + r.tftpRetries, 0),
    strayDhcp: seen.strayDhcp,
    lastInitrdMs: initrd.length > 0 ? Math.max(...initrd) : NaN,
    toInitrd: figure(
      results.flatMap((r) => (r.stamps.initrd !== undefined ? [r.stamps.initrd - r.start] : [])),
    ),
    stages,
    rssIdleMiB: seen.idle.rssMiB,
    rssPeakMiB: Math.max(...seen.samples.map((x) => x.rssMiB).filter((x) => !Number.isNaN(x))),
    ...(loops.length > 0 ? { loopMaxMs: Math.max(...loops), loopP99MaxMs: Math.max(...p99s) } : {}),
    stateBytes: seen.stateBytes,
    tally: seen.tally,
  };
}

const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

/** A few lines for the console. */
export function format(r: StormReport): string {
  const stage = Object.entries(r.stages)
    .map(([k, f]) => `${k} ${ms(f.p50)}/${ms(f.p99)}`)
    .join(", ");
  const loop =
    r.loopMaxMs !== undefined
      ? `; event loop max ${ms(r.loopMaxMs)} (p99 of a second up to ${ms(r.loopP99MaxMs!)})`
      : "";
  return [
    `${r.stack.padEnd(9)} N=${r.n} spread ${r.spreadMs / 1000} s: ${r.ok}/${r.n} ok, ${r.booted} booted the image, ` +
      `last initrd at ${ms(r.lastInitrdMs)} (per machine p50 ${ms(r.toInitrd.p50)}, p99 ${ms(r.toInitrd.p99)})`,
    `          stages p50/p99: ${stage}`,
    `          retries: DHCP ${r.dhcpRetries}, TFTP ${r.tftpRetries}; errors ${r.errors.length}${r.errors.length ? ` (first: ${r.errors[0]})` : ""}`,
    `          RSS ${r.rssIdleMiB.toFixed(0)} MiB idle, peak ${r.rssPeakMiB.toFixed(0)} MiB${loop}; state ${(r.stateBytes / 1024).toFixed(0)} KiB` +
      (Object.keys(r.tally).length ? `; ${JSON.stringify(r.tally)}` : ""),
  ].join("\n");
}
