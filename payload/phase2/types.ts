// The seams phase 2 needs from the rest of the payload. The runner is
// payload/run/runner.ts; Reporter is the minimum phase 2 calls, which
// payload/run/reporter.ts's Reporter class satisfies structurally.
import type { InstallSpec } from "../spec/schema.ts";

// The runner (payload/run/runner.ts) throws CommandError
// (shared/command-error.ts) when a command fails.
export type { CommandRunner, RunOptions } from "../run/runner.ts";
import type { CommandRunner } from "../run/runner.ts";
import type { StepEvent, StepReporter } from "../run/step.ts";

/** What phase 2 reports (a step event); the reporter adds seq, time and phase. */
export type Phase2Event = StepEvent;

export type Reporter = StepReporter;

export interface Phase2Context {
  spec: InstallSpec;
  /** Server base URL, e.g. http://10.0.0.1:8080 */
  server: string;
  /** The phase-2 run token. */
  token: string;
  /** "/" on the installed system; a chroot directory in tests. */
  root: string;
  runner: CommandRunner;
  report: Reporter;
  /** Injectable clock (sync stamp, step timings). */
  now?: () => Date;
  /** Injectable fetch (the overlay download). */
  fetch?: typeof globalThis.fetch;
}

export interface StepTiming {
  step: string;
  ms: number;
}

export interface Phase2Summary {
  packages: { requested: string[]; installed: string[]; emergeRan: boolean };
  portage: { written: string[]; unchanged: number };
  sync: "done" | "skipped-recent" | "not-requested";
  overlay: { written: string[]; unchanged: number; protected: string[]; skipped: string[] };
  services: { enabled: string[]; disabled: string[]; unchanged: string[] };
  sshdRestarted: boolean;
  steps: StepTiming[];
  totalMs: number;
  /** Layout ab: the slot this system runs from, confirmed as the default. */
  slot?: "a" | "b";
  confirmed?: boolean;
}
