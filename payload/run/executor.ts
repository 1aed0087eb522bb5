// Walks the plan: step-start, the handler, step-end with its duration. The
// first failure reports step, device, command, exit code and stderr tail,
// unmounts what we mounted (the machine stays in the RAM system) and throws.
import type { Action, ActionKind, Step } from "../plan/types.ts";
import type { RunContext } from "./context.ts";
import { CommandError } from "./runner.ts";

export type Handler<K extends ActionKind> = (
  a: Extract<Action, { kind: K }>,
  ctx: RunContext,
  step: Step,
) => Promise<void>;
export type Handlers = { [K in ActionKind]: Handler<K> };

export class StepFailed extends Error {
  constructor(
    readonly step: Step,
    options: { cause: unknown },
  ) {
    super(
      `step ${step.id} failed${step.device ? ` on ${step.device}` : ""}: ${(options.cause as Error)?.message ?? String(options.cause)}`,
      options,
    );
    this.name = "StepFailed";
  }
}

export interface StepTiming {
  id: string;
  ms: number;
}

export async function execute(
  steps: Step[],
  ctx: RunContext,
  handlers: Handlers,
  cleanup: (ctx: RunContext) => Promise<void>,
): Promise<StepTiming[]> {
  const timings: StepTiming[] = [];
  for (const step of steps) {
    ctx.step = step.id;
    const t0 = performance.now();
    ctx.reporter.emit({
      kind: "step-start",
      step: step.id,
      message: step.title,
      ...(step.device ? { device: step.device } : {}),
    });
    try {
      const h = handlers[step.action.kind] as Handler<ActionKind>;
      await h(step.action, ctx, step);
    } catch (err) {
      const ce = findCommandError(err);
      ctx.reporter.emit({
        kind: "step-fail",
        step: step.id,
        message: (err as Error)?.message?.slice(0, 8000) ?? String(err),
        ...(step.device ? { device: step.device } : {}),
        ...(ce ? { command: ce.command, stderrTail: ce.stderrTail.slice(-16000) } : {}),
        ...(ce?.exitCode !== undefined ? { exitCode: ce.exitCode } : {}),
      });
      await cleanup(ctx).catch((e: unknown) =>
        ctx.log(`cleanup after failure: ${(e as Error).message}`),
      );
      throw new StepFailed(step, { cause: err });
    }
    const ms = Math.round(performance.now() - t0);
    timings.push({ id: step.id, ms });
    ctx.reporter.emit({ kind: "step-end", step: step.id, message: `${ms} ms` });
  }
  return timings;
}

function findCommandError(err: unknown): CommandError | undefined {
  for (let e = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof CommandError) return e;
  }
  return undefined;
}
