// planInstall(spec, probe): the whole phase-1 install as data. Pure: it
// validates while planning (every refusal is a PlanRefusal naming the field)
// and orders the steps so nothing is destroyed before everything needed is
// in hand: fetch+verify and the keep-list come before the first format.
// Each group of steps has its own planner in groups/.
import type { InstallSpec } from "../spec/schema.ts";
import type { ProbedSystem } from "../probe/types.ts";
import { renderNetwork } from "../render/network.ts";
import {
  checkBootMac,
  checkFirmware,
  checkHomeOwners,
  checkKeepList,
  checkPortage,
  chooseStaging,
} from "./checks.ts";
import { resolveDevices } from "./layout.ts";
import type { GroupPlanner, PlanContext } from "./groups/context.ts";
import { planPrepare } from "./groups/prepare.ts";
import { planDisk } from "./groups/disk.ts";
import { planRoot } from "./groups/root.ts";
import { planConfigure } from "./groups/configure.ts";
import { planBoot } from "./groups/boot.ts";
import { planFinish } from "./groups/finish.ts";
import type { DeploySource, Step } from "./types.ts";

export interface PlanOptions {
  /** Where the new root is mounted. */
  target?: string;
  /** The payload's own scratch directory on the RAM system. */
  stateDir?: string;
  /**
   * deploy:<image>: the root comes from that captured system image instead
   * of stage3 + snapshot (fetched and verified before anything is paved, as
   * stage3 is); every configure, boot and finish step is the same, which is
   * what gives the machine its own identity.
   */
  deploy?: DeploySource;
}

/** The install in order: prepare before the disk is paved, then root, configure, boot, finish. */
export const GROUP_PLANNERS: readonly GroupPlanner[] = [
  planPrepare,
  planDisk,
  planRoot,
  planConfigure,
  planBoot,
  planFinish,
];

export function planInstall(
  spec: InstallSpec,
  probe: ProbedSystem,
  opts: PlanOptions = {},
): Step[] {
  const ctx = planContext(spec, probe, opts);
  return GROUP_PLANNERS.flatMap((plan) => plan(ctx));
}

/** Every check that refuses a plan, in order, and what the group planners share. */
export function planContext(
  spec: InstallSpec,
  probe: ProbedSystem,
  opts: PlanOptions = {},
): PlanContext {
  checkBootMac(spec, probe.bootNic?.mac);
  checkFirmware(spec, probe);
  checkPortage(spec);
  const dev = resolveDevices(spec, probe);
  checkHomeOwners(spec, probe);
  checkKeepList(spec, probe, dev.oldRoot);
  return {
    spec,
    probe,
    dev,
    target: opts.target ?? "/mnt/gentoo",
    staging: chooseStaging(probe, opts.stateDir ?? "/run/automagic"),
    network: renderNetwork(spec, probe.bootNic),
    deploy: opts.deploy,
  };
}
