// Step bookkeeping for phase 2: start/end/fail events and timings. A failed
// step reports the command, exit code and the tail of its output, as every
// automagic failure does.
import { CommandError } from "../run/runner.ts";
import type { Reporter, StepTiming } from "./types.ts";

export class StepError extends Error {
  override name = "StepError";
  constructor(
    message: string,
    readonly details: { command?: string; exitCode?: number; stderrTail?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function tail(text: string, max = 8 * 1024): string {
  return text.length <= max ? text : text.slice(text.length - max);
}

export async function runStep<T>(
  step: string,
  report: Reporter,
  now: () => Date,
  timings: StepTiming[],
  fn: () => Promise<{ value: T; message: string }>,
): Promise<T> {
  const started = now().getTime();
  await report.emit({ kind: "step-start", step });
  try {
    const { value, message } = await fn();
    timings.push({ step, ms: now().getTime() - started });
    await report.emit({ kind: "step-end", step, message });
    return value;
  } catch (err) {
    timings.push({ step, ms: now().getTime() - started });
    const e = err as Error;
    const d =
      err instanceof StepError
        ? err.details
        : err instanceof CommandError
          ? { command: err.command, exitCode: err.exitCode, stderrTail: err.stderrTail }
          : {};
    await report.emit({
      kind: "step-fail",
      step,
      message: `${step}: ${e.message}`.slice(0, 64 * 1024),
      ...(d.command !== undefined ? { command: d.command } : {}),
      ...(d.exitCode !== undefined ? { exitCode: d.exitCode } : {}),
      ...(d.stderrTail !== undefined ? { stderrTail: tail(d.stderrTail) } : {}),
    });
    throw err;
  }
}
