// Row <-> value mapping for the runs table, and the one-line failure text.
import type { RunEvent } from "../../payload/spec/events.ts";
import type { Action } from "../policy/actions.ts";
import type { RunFacts, RunStatus } from "../policy/state-machine.ts";

export interface RunRow {
  id: number;
  host: string;
  action: string;
  status: string;
  phase: number;
  started_at: number;
  last_event_at: number | null;
  current_step: string | null;
  progress: string | null;
  failure: string | null;
  ended_at: number | null;
  boot_ip: string | null;
  spec_ip: string | null;
  image: string | null;
}

export function toRun(r: RunRow): RunFacts {
  const run: RunFacts = {
    id: r.id,
    host: r.host,
    action: r.action as Action,
    status: r.status as RunStatus,
    phase: r.phase === 3 ? 3 : r.phase === 2 ? 2 : 1,
    startedAt: r.started_at,
  };
  if (r.last_event_at !== null) run.lastEventAt = r.last_event_at;
  if (r.current_step !== null) run.currentStep = r.current_step;
  if (r.progress !== null) run.progress = JSON.parse(r.progress) as RunFacts["progress"];
  if (r.failure !== null) run.failure = r.failure;
  if (r.ended_at !== null) run.endedAt = r.ended_at;
  if (r.boot_ip) run.bootIp = r.boot_ip;
  if (r.spec_ip) run.specIp = r.spec_ip;
  if (r.image) run.image = r.image;
  return run;
}

/** What a failed step tells a person: step, device, command, exit code, stderr tail. */
export function describeFailure(e: RunEvent): string {
  const parts = [`step ${e.step ?? "?"}`];
  if (e.device) parts.push(`device ${e.device}`);
  if (e.command) parts.push(`command "${e.command}"`);
  if (e.exitCode !== undefined) parts.push(`exit code ${e.exitCode}`);
  let text = parts.join(", ");
  if (e.message) text += `: ${e.message}`;
  if (e.stderrTail) text += `\n${e.stderrTail}`;
  return text;
}
