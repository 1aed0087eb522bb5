// The install as the server saw it: boot trace rows and run events merged
// into one timeline, seconds from the first packet. The e2e test asserts on
// these records (not on log text) and prints the table.
import type { BedServer } from "./server.ts";

export interface TraceRow {
  time: number;
  source: string;
  what: string;
  detail?: Record<string, unknown>;
}

export interface EventRow {
  id: number;
  runId: number;
  receivedAt?: number;
  event: { kind: string; phase: number; step?: string; time: string; message?: string };
}

export interface Timeline {
  trace: TraceRow[];
  events: EventRow[];
}

/** The host's trace rows from `since` (ms) on, and the events of its runs that began then. */
export async function fetchTimeline(server: BedServer, host: string, since = 0): Promise<Timeline> {
  const t = await server.json<{ trace: TraceRow[] }>(["trace", host]);
  const lines = (await server.cli(["events", host, "--json"])).split("\n").filter(Boolean);
  const events = lines.map((l) => JSON.parse(l) as EventRow);
  const fresh = new Set(
    events.filter((e) => Date.parse(e.event.time) >= since).map((e) => e.runId),
  );
  return {
    trace: t.trace.filter((r) => r.time >= since),
    events: events.filter((e) => fresh.has(e.runId)),
  };
}

/** Index of the first trace row matching, -1 if none. */
export function findTrace(tl: Timeline, source: string, what: RegExp, from = 0): number {
  return tl.trace.findIndex((r, i) => i >= from && r.source === source && what.test(r.what));
}

export function renderTimeline(tl: Timeline): string {
  const rows: Array<{ t: number; text: string }> = [];
  for (const r of tl.trace) {
    const d = r.detail ?? {};
    const extra = ["decision", "file", "bootfile", "mode", "step", "ip"]
      .filter((k) => d[k] !== undefined)
      .map((k) => `${k}=${String(d[k])}`)
      .join(" ");
    rows.push({ t: r.time, text: `${r.source.padEnd(7)} ${r.what}${extra ? ` (${extra})` : ""}` });
  }
  for (const e of tl.events) {
    const k = e.event.kind;
    if (k === "progress" || k === "log") continue;
    rows.push({
      t: Date.parse(e.event.time),
      text: `phase${e.event.phase} ${k}${e.event.step ? ` ${e.event.step}` : ""}`,
    });
  }
  rows.sort((a, b) => a.t - b.t);
  const t0 = rows[0]?.t ?? 0;
  return rows.map((r) => `${((r.t - t0) / 1000).toFixed(1).padStart(7)} s  ${r.text}`).join("\n");
}
