// `reinstall --wait`: follows a host's run until it ends. Events stream
// through the one SSE client (AdminClient.follow, which resumes after a
// dropped stream); the run's status is read from the admin API after each
// terminal event and every few seconds, because a run can also end without
// an event (cancelled by a re-arm, expired before its payload spoke).
import type { AdminClient } from "./client.ts";
import type { StoredEvent } from "../state/store.ts";
import type { RunFacts } from "../policy/state-machine.ts";

export type RunOutcome = "succeeded" | "failed" | "timeout";

export interface WaitResult {
  outcome: RunOutcome;
  /** The run waited for; absent when a netboot never began one. */
  run?: number;
  reason?: string;
}

export interface WaitOptions {
  host: string;
  /** The run to wait for (ssh, kexec); absent: the first run after `afterRun` (netboot). */
  run?: number;
  afterRun: number;
  /** Events up to this id are history: not printed. */
  afterEvent: number;
  timeoutMs: number;
  onEvent?: (e: StoredEvent) => void;
  onDrop?: (why: string, lastId: string | undefined) => void;
  pollMs?: number;
}

const TERMINAL_KINDS = new Set(["step-fail", "run-done", "phase-done"]);

/** Pure: how a run stands, once it has ended. */
export function runEnded(run: RunFacts | undefined): WaitResult | undefined {
  if (!run) return undefined;
  switch (run.status) {
    case "done":
      return { outcome: "succeeded", run: run.id };
    case "failed":
    case "cancelled":
    case "expired":
      return {
        outcome: "failed",
        run: run.id,
        reason: run.failure ?? `run ${run.id} ${run.status}`,
      };
    default:
      return undefined;
  }
}

/** Pure: the run a wait is about among a host's runs (newest first, as the API lists them). */
export function pickRun(runs: RunFacts[], run: number | undefined, afterRun: number) {
  if (run !== undefined) return runs.find((r) => r.id === run);
  return runs.filter((r) => r.id > afterRun).at(-1);
}

export async function waitForRun(c: AdminClient, o: WaitOptions): Promise<WaitResult> {
  const stop = new AbortController();
  let runId = o.run;
  let result: WaitResult | undefined;
  const finish = (r: WaitResult) => {
    result ??= r;
    stop.abort();
  };
  const check = async () => {
    const s = await c.json<{ runs: RunFacts[] }>(
      "GET",
      `/api/v1/admin/hosts/${encodeURIComponent(o.host)}`,
    );
    const run = pickRun(s.runs, runId, o.afterRun);
    if (run) runId = run.id;
    const ended = runEnded(run);
    if (ended) finish(ended);
  };
  // A failed status read is retried at the next tick; the stream reports a server that is gone.
  const poll = setInterval(() => void check().catch(() => {}), o.pollMs ?? 3000);
  const timer = setTimeout(
    () =>
      finish({
        outcome: "timeout",
        ...(runId !== undefined ? { run: runId } : {}),
        reason: `no end of the run within ${Math.round(o.timeoutMs / 1000)} s`,
      }),
    o.timeoutMs,
  );
  try {
    await check();
    const path = `/api/v1/admin/hosts/${encodeURIComponent(o.host)}/events?follow=1&after=${o.afterEvent}`;
    for await (const raw of c.follow(path, {
      signal: stop.signal,
      ...(o.onDrop ? { onDrop: o.onDrop } : {}),
    })) {
      const e = raw as StoredEvent;
      const ours = runId !== undefined ? e.runId === runId : e.runId > o.afterRun;
      if (!ours) continue;
      o.onEvent?.(e);
      if (TERMINAL_KINDS.has(e.event.kind)) await check();
      if (result) break;
    }
  } finally {
    clearInterval(poll);
    clearTimeout(timer);
    stop.abort();
  }
  return result ?? { outcome: "failed", reason: "the event stream ended" };
}
