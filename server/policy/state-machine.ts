// The next-boot state machine (docs/ARCHITECTURE.md), as pure functions over
// the facts the store keeps. The store persists; these decide.
//
//   local --arm--> armed:X --run-start--> running:X --run-done--> local
//                                            | step-fail / stalled
//                                            v
//                                         failed:X (boots local until re-armed)
import type { Action } from "./actions.ts";

/**
 * booting: a script with a token was served, no payload request seen yet.
 * running: the payload has spoken. done/failed/cancelled/expired are final
 * (expired: the payload never fetched its spec within the boot window).
 * stalled is not stored as a status: it is derived from the clock (see runView).
 */
export type RunStatus = "booting" | "running" | "done" | "failed" | "cancelled" | "expired";

/**
 * 1: the RAM system (install, deploy, capture, rescue); 2: the installed
 * system's first boot; 3: the capture that follows an install in the same
 * run (postInstall.capture), in the RAM system again.
 */
export type RunPhase = 1 | 2 | 3;

export interface RunFacts {
  id: number;
  host: string;
  action: Action;
  status: RunStatus;
  phase: RunPhase;
  startedAt: number;
  lastEventAt?: number;
  currentStep?: string;
  progress?: { done: number; total?: number; unit?: string };
  failure?: string;
  endedAt?: number;
  /** The address the boot script with the token went to. */
  bootIp?: string;
  /** The address that fetched the spec (the run's tokens are pinned to it). */
  specIp?: string;
  /** The system image this run's capture writes (named once, the same in every store). */
  image?: string;
}

export interface HostFacts {
  /** Armed, not yet consumed action; "local" when none. */
  armed: Action;
  armedAt?: number;
  /** Why the host went back to local on its own (an armed action expired). */
  note?: string;
  /** The latest run of this host, if any. */
  run?: RunFacts;
}

export type HostPhase =
  | { state: "local" }
  | { state: "armed"; action: Action }
  | { state: "running"; action: Action; runId: number; stalled: boolean }
  | { state: "failed"; action: Action; runId: number; failure: string };

export function isActive(run: RunFacts | undefined): boolean {
  return run !== undefined && (run.status === "booting" || run.status === "running");
}

/** A run that sent nothing for `stallMs` is stalled; it stays active (it may come back). */
export function isStalled(run: RunFacts, now: number, stallMs: number): boolean {
  if (!isActive(run)) return false;
  const last = run.lastEventAt ?? run.startedAt;
  return now - last >= stallMs;
}

/** Where a host stands in the state machine, for status output and the API. */
export function hostPhase(facts: HostFacts, now: number, stallMs: number): HostPhase {
  if (facts.armed !== "local") return { state: "armed", action: facts.armed };
  const run = facts.run;
  if (run && isActive(run)) {
    return {
      state: "running",
      action: run.action,
      runId: run.id,
      stalled: isStalled(run, now, stallMs),
    };
  }
  if (run?.status === "failed") {
    return {
      state: "failed",
      action: run.action,
      runId: run.id,
      failure: run.failure ?? "failed",
    };
  }
  return { state: "local" };
}

export function phaseLabel(p: HostPhase): string {
  switch (p.state) {
    case "local":
      return "local";
    case "armed":
      return `armed:${p.action}`;
    case "running":
      return `${p.stalled ? "stalled" : "running"}:${p.action}`;
    case "failed":
      return `failed:${p.action}`;
  }
}
