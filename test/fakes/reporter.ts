// A phase-1 Reporter that prints nothing and keeps every event it emits, for
// tests that check what a failure reported.
import { Reporter } from "../../payload/run/reporter.ts";
import type { RunEvent } from "../../payload/spec/events.ts";

export function recordingReporter(): { reporter: Reporter; events: RunEvent[] } {
  const events: RunEvent[] = [];
  const reporter = new Reporter({ phase: 1, write: () => {} });
  const emit = reporter.emit.bind(reporter);
  reporter.emit = (e) => {
    events.push(e as RunEvent);
    emit(e);
  };
  return { reporter, events };
}
