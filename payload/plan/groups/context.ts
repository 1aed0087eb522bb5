// What every group planner of planInstall (../plan.ts) reads: the spec, the
// probe, and what planInstall resolved and checked before the first step.
import type { InstallSpec } from "../../spec/schema.ts";
import type { ProbedSystem } from "../../probe/types.ts";
import type { NetworkPlan } from "../../render/network.ts";
import type { Devices } from "../layout.ts";
import type { DeploySource, StagingChoice, Step } from "../types.ts";

export interface PlanContext {
  spec: InstallSpec;
  probe: ProbedSystem;
  dev: Devices;
  /** Where the new root is mounted. */
  target: string;
  staging: StagingChoice;
  network: NetworkPlan;
  /** deploy:<image>: the root comes from that system image instead of stage3. */
  deploy?: DeploySource;
}

/** One group of the plan (prepare, disk, root, configure, boot, finish): steps in order. */
export type GroupPlanner = (ctx: PlanContext) => Step[];

/** A step; `destructive` is false unless it says so. */
export function step(s: Omit<Step, "destructive"> & { destructive?: boolean }): Step {
  return { destructive: false, ...s };
}
