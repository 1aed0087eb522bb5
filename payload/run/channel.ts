// What a netbooted run that is not an install (capture, discover) opens
// first: its fetch and command runner (injectable for tests), the run's API
// base URL under its token, and the reporter that streams its events.
import { Reporter } from "./reporter.ts";
import { execaRunner, type CommandRunner } from "./runner.ts";

export interface ChannelOptions {
  server: string;
  token: string;
  runner?: CommandRunner;
  fetch?: typeof fetch;
  write?: (line: string) => void;
}

export function openRunChannel(o: ChannelOptions) {
  const f = o.fetch ?? fetch;
  const reporter = new Reporter({
    phase: 1,
    fetch: f,
    server: o.server,
    token: o.token,
    ...(o.write ? { write: o.write } : {}),
  });
  return {
    f,
    runner: o.runner ?? execaRunner(),
    base: `${o.server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(o.token)}`,
    reporter,
  };
}
