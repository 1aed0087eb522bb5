// Nothing armed waits forever. An armed action that no machine boots within
// `armFor`, and a run whose boot script was served but whose payload never
// fetched its spec within `bootWindow` (the initrd download failed and the
// machine booted its disk), go back to local with the reason kept: otherwise
// some ordinary reboot weeks later would reinstall the machine.
import type { HostFacts } from "./state-machine.ts";

export interface ExpiryWindows {
  armForMs: number;
  bootWindowMs: number;
}

export type Expiry =
  | { kind: "disarm"; reason: string }
  /** status: how the run ends (a capture that never came fails its install run, which is in place). */
  | { kind: "expire-run"; runId: number; reason: string; status: "expired" | "failed" };

export function expiryOf(facts: HostFacts, now: number, w: ExpiryWindows): Expiry | undefined {
  if (facts.armed !== "local" && facts.armedAt !== undefined && now - facts.armedAt >= w.armForMs) {
    return {
      kind: "disarm",
      reason: `armed ${facts.armed} expired: no machine booted it within ${span(w.armForMs)} (armed ${new Date(facts.armedAt).toISOString()})`,
    };
  }
  const run = facts.run;
  if (run?.status === "booting" && run.phase === 3) {
    // Waiting for the reboot into the capture: the window starts at phase 2's end.
    if (now - (run.lastEventAt ?? run.startedAt) < w.bootWindowMs) return undefined;
    return {
      kind: "expire-run",
      runId: run.id,
      status: "failed",
      reason: `run ${run.id} (${run.action}): the capture after phase 2 did not start within ${span(w.bootWindowMs)} (the machine did not netboot); the installed system is in place; arm capture to take the image`,
    };
  }
  if (run?.status === "booting" && now - run.startedAt >= w.bootWindowMs) {
    return {
      kind: "expire-run",
      runId: run.id,
      status: "expired",
      reason: `run ${run.id} (${run.action}) expired: its payload never fetched the spec within ${span(w.bootWindowMs)} of the boot script; re-arm to retry`,
    };
  }
  return undefined;
}

/** 90 s, 30 min, 24 h: the unit a person would say. */
export function span(ms: number): string {
  if (ms % 3600_000 === 0) return `${ms / 3600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}
