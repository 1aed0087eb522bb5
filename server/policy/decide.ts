// THE boot decision. Every boot path (BIOS PXE, UEFI PXE, UEFI HTTP boot,
// iPXE asking directly) ends in GET /boot.ipxe, and that route asks only this
// function. Peers that gated "stop netbooting" on some paths but not others
// reinstalled machines in a loop (tinkerbell#951); one function, one answer.
import type { Action } from "./actions.ts";
import type { HostFacts } from "./state-machine.ts";

export interface BootRequest {
  mac: string;
  uuid?: string;
  arch?: string;
}

export type Decision =
  | { kind: "local"; reason: string }
  /** newRun: consume the armed action into a new run. reuseRun: re-serve a run
   * whose payload has not spoken yet (e.g. the initrd download failed and the
   * machine was power-cycled) with a fresh token. */
  | { kind: "boot"; action: Action; reason: string; reuseRun?: number };

export interface DecideOptions {
  /**
   * serve.yaml commission.unknown: a MAC no host file claims boots `discover`
   * once (facts are then its discovered run's, server/policy/actions.ts
   * discoveredHost); off, it boots local as before.
   */
  commission?: boolean;
}

export function decideBoot(
  host: { name: string } | undefined,
  facts: HostFacts | undefined,
  _req: BootRequest,
  o: DecideOptions = {},
): Decision {
  if (!host && !o.commission)
    return { kind: "local", reason: "unknown MAC (recorded as discovered)" };
  if (!host && !facts?.run)
    return { kind: "boot", action: "discover", reason: "unknown MAC: commissioning (discover)" };
  if (!facts) return { kind: "local", reason: "no action armed" };
  if (facts.armed !== "local") {
    return { kind: "boot", action: facts.armed, reason: `armed ${facts.armed}` };
  }
  // An unknown machine discovers once: its run, whatever became of it,
  // decides below like any host's (done, failed or expired: local).
  const run = facts.run;
  if (!run) return { kind: "local", reason: "no action armed" };
  if (run.phase === 3 && (run.status === "booting" || run.status === "running")) {
    // The capture after an install (postInstall.capture): phase 2 is done and
    // the installed system rebooted to netboot. A capture only reads the
    // disks, so serving it again after a power cut mid-capture is safe.
    return {
      kind: "boot",
      action: "capture",
      reuseRun: run.id,
      reason: `run ${run.id} (${run.action}): phase 2 done, capture follows`,
    };
  }
  switch (run.status) {
    case "booting":
      // Nothing on the machine has been touched yet: serving the same run
      // again is safe and saves a person a re-arm after a flaky download.
      return {
        kind: "boot",
        action: run.action,
        reuseRun: run.id,
        reason: `run ${run.id} (${run.action}) not started by the payload yet`,
      };
    case "running":
      // The payload has started: a second netboot (phase-1 reboot, crash,
      // power-cycle) must go to the disk, never restart the install.
      return { kind: "local", reason: `run ${run.id} (${run.action}) in progress` };
    case "failed":
      return {
        kind: "local",
        reason: `run ${run.id} (${run.action}) failed; re-arm to retry`,
      };
    case "done":
      return { kind: "local", reason: `run ${run.id} (${run.action}) done` };
    case "cancelled":
      return { kind: "local", reason: `run ${run.id} (${run.action}) cancelled` };
    case "expired":
      return { kind: "local", reason: run.failure ?? `run ${run.id} (${run.action}) expired` };
  }
}
