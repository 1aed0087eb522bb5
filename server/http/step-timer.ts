// Pairs a run's step-start with its step-end or step-fail (same run, phase
// and step) into durations for the step histogram. Times are the payload's
// own clock on both ends, so a slow event upload does not stretch a step.
// Bounded: step names are cut to MAX_STEP_CHARS and at most MAX_STEPS
// distinct names get a label of their own (the rest are "other"), and at
// most MAX_OPEN steps wait for their end.
import type { StepEventRow } from "../state/tallies.ts";

export const MAX_STEPS = 64;
const MAX_STEP_CHARS = 64;
const MAX_OPEN = 10_000;

export interface StepDuration {
  step: string;
  outcome: "ok" | "failed";
  seconds: number;
}

export class StepTimer {
  #open = new Map<string, number>();
  #names = new Set<string>();

  /** Durations of the steps these events end, in order. */
  feed(rows: readonly StepEventRow[]): StepDuration[] {
    const out: StepDuration[] = [];
    for (const r of rows) {
      if (!r.step || !Number.isFinite(r.time)) continue;
      const key = `${r.runId}:${r.phase}:${r.step}`;
      if (r.kind === "step-start") {
        this.#open.delete(key);
        this.#open.set(key, r.time);
        if (this.#open.size > MAX_OPEN) this.#open.delete(this.#open.keys().next().value!);
        continue;
      }
      const started = this.#open.get(key);
      if (started === undefined) continue;
      this.#open.delete(key);
      out.push({
        step: this.#label(r.step),
        outcome: r.kind === "step-fail" ? "failed" : "ok",
        seconds: Math.max(0, r.time - started) / 1000,
      });
    }
    return out;
  }

  #label(step: string): string {
    const name = step.slice(0, MAX_STEP_CHARS);
    if (this.#names.has(name)) return name;
    if (this.#names.size >= MAX_STEPS) return "other";
    this.#names.add(name);
    return name;
  }
}
