// Progress events: what the payload POSTs to /api/v1/run/:token/events and
// what the server stores per run. One schema for both sides.
import { z } from "zod";

export const eventKindSchema = z.enum([
  "run-start", // payload is up (carries the image's start marker)
  "step-start",
  "progress",
  "log",
  "step-end",
  "step-fail", // a step failed: the run is failed
  "phase-done", // phase 1 finished (reboot follows) or phase 2 finished
  "run-done", // the whole run finished: server flips the action back
]);
export type EventKind = z.infer<typeof eventKindSchema>;

export const runEventSchema = z
  .object({
    /** Monotonic per run and phase, starts at 1; lets the server drop duplicates on retry. */
    seq: z.number().int().positive(),
    time: z.string().datetime(),
    phase: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    kind: eventKindSchema,
    step: z.string().optional(),
    message: z
      .string()
      .max(64 * 1024)
      .optional(),
    progress: z
      .object({
        done: z.number().nonnegative(),
        total: z.number().nonnegative().optional(),
        unit: z.string().optional(), // "bytes", "packages", ...
      })
      .strict()
      .optional(),
    // failure details
    device: z.string().optional(),
    command: z.string().optional(),
    exitCode: z.number().int().optional(),
    stderrTail: z
      .string()
      .max(16 * 1024)
      .optional(),
    /** Free-form summary on phase-done/run-done (packages installed, files written, step times). */
    summary: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type RunEvent = z.infer<typeof runEventSchema>;

/** A batch, so a slow link does not cost one request per log line. */
export const eventBatchSchema = z
  .object({ events: z.array(runEventSchema).min(1).max(1000) })
  .strict();
