// Walks the plan, each step through the one step runner (step.ts: start, end
// with its duration, or a failure naming step, device, command, how it ended
// and its output). The first failure unmounts what we mounted (the machine
// stays in the RAM system) and throws StepFailed.
import type { Action, ActionKind, Step } from "../plan/types.ts";
import type { RunContext } from "./context.ts";
import { runStep } from "./step.ts";

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
    const h = handlers[step.action.kind] as Handler<ActionKind>;
    try {
      await runStep(
        { id: step.id, title: step.title, ...(step.device ? { device: step.device } : {}) },
        ctx.reporter,
        async () => ({ value: await h(step.action, ctx, step) }),
        { onDone: (ms) => timings.push({ id: step.id, ms }) },
      );
    } catch (err) {
      await cleanup(ctx).catch((e: unknown) =>
        ctx.log(`cleanup after failure: ${(e as Error).message}`),
      );
      throw new StepFailed(step, { cause: err });
    }
  }
  return timings;
}
