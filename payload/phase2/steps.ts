// Step bookkeeping for phase 2: start/end/fail events and timings. A failed
// step reports the command, exit code and the tail of its output, as every
// automagic failure does.
import { CommandError, tail } from "../run/runner.ts";
import type { Reporter, StepTiming } from "./types.ts";

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
      err instanceof CommandError
        ? { command: err.command, exitCode: err.exitCode, stderrTail: err.stderrTail }
        : {};
    await report.emit({
      kind: "step-fail",
      step,
      message: `${step}: ${e.message}`.slice(0, 64 * 1024),
      ...(d.command !== undefined ? { command: d.command } : {}),
      ...(d.exitCode !== undefined ? { exitCode: d.exitCode } : {}),
      ...(d.stderrTail !== undefined ? { stderrTail: tail(d.stderrTail, 8 * 1024) } : {}),
    });
    throw err;
  }
}
