// The one step runner, phase 1 (run/executor.ts walks the plan) and phase 2
// (phase2/index.ts): step-start, the step, step-end with what it did; a
// failure reports step, device, the command, how it ended and the tail of its
// output (found through `cause`, however deep the step wrapped it), then the
// error goes on to the caller unchanged.
import { findCommandError, tail } from "../../shared/command-error.ts";
import type { RunEvent } from "../spec/events.ts";

/** An event before the reporter adds seq, time and phase. */
export type StepEvent = Omit<RunEvent, "seq" | "time" | "phase">;

export interface StepReporter {
  emit(event: StepEvent): void | Promise<void>;
}

export interface StepRef {
  id: string;
  /** What the step-start event says (the plan's title). */
  title?: string;
  device?: string;
}

// The event schema's own limits (payload/spec/events.ts).
const MESSAGE_MAX = 64 * 1024;
const OUTPUT_MAX = 16 * 1024;

/** Pure: the step-fail event for `err`. */
export function stepFailEvent(step: StepRef, err: unknown): StepEvent {
  const ce = findCommandError(err);
  const message = err instanceof Error ? err.message : String(err);
  return {
    kind: "step-fail",
    step: step.id,
    message: message.slice(0, MESSAGE_MAX),
    ...(step.device ? { device: step.device } : {}),
    ...(ce ? { command: ce.command } : {}),
    ...(ce?.exitCode !== undefined ? { exitCode: ce.exitCode } : {}),
    ...(ce?.output ? { stderrTail: tail(ce.output, OUTPUT_MAX) } : {}),
  };
}

export interface StepRunOptions {
  /** Milliseconds, for the step's duration. */
  clock?: () => number;
  /** The step's duration, whether it passed or failed. */
  onDone?: (ms: number) => void;
}

export async function runStep<T>(
  step: StepRef,
  report: StepReporter,
  /** `message` is what step-end says; without one, the step's duration. */
  fn: () => Promise<{ value: T; message?: string }>,
  o: StepRunOptions = {},
): Promise<T> {
  const clock = o.clock ?? (() => performance.now());
  const t0 = clock();
  const ms = () => Math.round(clock() - t0);
  await report.emit({
    kind: "step-start",
    step: step.id,
    ...(step.title ? { message: step.title } : {}),
    ...(step.device ? { device: step.device } : {}),
  });
  let done;
  try {
    done = await fn();
  } catch (err) {
    o.onDone?.(ms());
    await report.emit(stepFailEvent(step, err));
    throw err;
  }
  const took = ms();
  o.onDone?.(took);
  await report.emit({ kind: "step-end", step: step.id, message: done.message ?? `${took} ms` });
  return done.value;
}
