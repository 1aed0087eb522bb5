// Read-only counts for /metrics (server/http/metrics.ts), taken from the
// tables the store already keeps, at scrape time: nothing on the hot paths
// counts a second time. Each query is over the small runs table or a rowid
// range of events, so a scrape costs the same however often it comes.
import type { RunFacts } from "../policy/state-machine.ts";
import type { Db } from "./db.ts";
import { toRun, type RunRow } from "./rows.ts";

/** Runs per stored status (booting, running, done, failed, cancelled, expired). */
export function runsByStatus(db: Db): Map<string, number> {
  const rows = db.prepare("SELECT status, COUNT(*) AS n FROM runs GROUP BY status").all() as Array<{
    status: string;
    n: number;
  }>;
  return new Map(rows.map((r) => [r.status, r.n]));
}

/** Runs still booting or running (candidates for "stalled"). */
export function activeRuns(db: Db): RunFacts[] {
  const rows = db
    .prepare("SELECT * FROM runs WHERE status IN ('booting', 'running')")
    .all() as RunRow[];
  return rows.map(toRun);
}

export interface StepEventRow {
  id: number;
  runId: number;
  phase: number;
  kind: "step-start" | "step-end" | "step-fail";
  step: string | undefined;
  /** The payload's clock (ms since the epoch), NaN when the event had none. */
  time: number;
}

/** The newest event id; a reader that starts here sees only what comes after. */
export function lastEventId(db: Db): number {
  const r = db.prepare("SELECT MAX(id) AS id FROM events").get() as { id: number | null };
  return r.id ?? 0;
}

/** Step events with id > afterId, oldest first, at most `limit`. */
export function stepEventsAfter(db: Db, afterId: number, limit: number): StepEventRow[] {
  const rows = db
    .prepare(
      `SELECT id, run_id, phase, kind, body FROM events
       WHERE id > ? AND kind IN ('step-start', 'step-end', 'step-fail') ORDER BY id LIMIT ?`,
    )
    .all(afterId, limit) as Array<{
    id: number;
    run_id: number;
    phase: number;
    kind: StepEventRow["kind"];
    body: string;
  }>;
  return rows.map((r) => {
    const e = JSON.parse(r.body) as { step?: string; time?: string };
    return {
      id: r.id,
      runId: r.run_id,
      phase: r.phase,
      kind: r.kind,
      step: e.step,
      time: e.time ? Date.parse(e.time) : NaN,
    };
  });
}
