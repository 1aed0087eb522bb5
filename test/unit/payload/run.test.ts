import { test } from "node:test";
import assert from "node:assert/strict";
import { Reporter } from "../../../payload/run/reporter.ts";
import { execute } from "../../../payload/run/executor.ts";
import { runStep } from "../../../payload/run/step.ts";
import { CommandError } from "../../../shared/command-error.ts";
import { execaRunner } from "../../../payload/run/runner.ts";
import type { RunContext } from "../../../payload/run/context.ts";
import type { Step } from "../../../payload/plan/types.ts";
import type { RunEvent } from "../../../payload/spec/events.ts";
import { recordingReporter } from "../../fakes/reporter.ts";

type ReporterOptions = ConstructorParameters<typeof Reporter>[0];

/** A Reporter posting to http://s with token t through `answer`: each batch's events and URL in, a Response out (a throw is a network error). */
function posting(
  answer: (events: RunEvent[], url: string) => Response,
  o: Partial<ReporterOptions> = {},
): Reporter {
  const fetch = (async (url: string, init: { body: string }) =>
    answer(
      (JSON.parse(init.body) as { events: RunEvent[] }).events,
      url,
    )) as unknown as typeof globalThis.fetch;
  return new Reporter({ phase: 1, server: "http://s", token: "t", fetch, write: () => {}, ...o });
}
const ok = () => new Response("{}", { status: 200 });

test("reporter batches events, retries a failed POST, keeps seq order", async () => {
  const posted: RunEvent[][] = [];
  let calls = 0;
  const lines: string[] = [];
  const r = posting(
    (events) => {
      calls++;
      if (calls === 1) throw new Error("ECONNRESET");
      posted.push(events);
      return ok();
    },
    { write: (l) => lines.push(l), batchDelayMs: 5, retryDelayMs: 1 },
  );
  r.emit({ kind: "run-start" });
  r.emit({ kind: "step-start", step: "a" });
  r.emit({ kind: "log", step: "a", message: "hello" });
  await r.flush();
  assert.equal(posted.length, 1);
  assert.deepEqual(
    posted[0]!.map((e) => e.seq),
    [1, 2, 3],
  );
  assert.ok(lines.includes("[a] hello"));
});

test("reporter gives up on 4xx without losing the console output", async () => {
  const lines: string[] = [];
  const r = posting(() => new Response("no", { status: 403 }), {
    write: (l) => lines.push(l),
    retryDelayMs: 1,
  });
  r.emit({ kind: "run-start" });
  await r.flush();
  assert.ok(lines.some((l) => /could not report 1 event\(s\).*HTTP 403/.test(l)));
});

test("after the phase-2 rotation, queued and later phase-1 events go out under the new token", async () => {
  const byToken = new Map<string, number[]>();
  const r = posting(
    (events, url) => {
      const token = /run\/([^/]+)\/events/.exec(url)![1]!;
      if (token === "old-revoked") return new Response("revoked", { status: 401 });
      byToken.set(token, [...(byToken.get(token) ?? []), ...events.map((e) => e.seq)]);
      return ok();
    },
    { token: "old-revoked", batchDelayMs: 1000, retryDelayMs: 1 },
  );
  r.emit({ kind: "step-start", step: "first-boot" });
  r.useToken("new");
  r.emit({ kind: "phase-done" });
  await r.flush();
  assert.deepEqual(byToken.get("new"), [1, 2]);
});

test("a failing step reports step, device, command, exit code and stderr tail, then cleans up", async () => {
  const { reporter, events } = recordingReporter();
  let cleaned = false;
  const steps: Step[] = [
    {
      id: "format-root",
      group: "pave",
      title: "t",
      device: "/dev/loop9p2",
      destructive: true,
      detail: [],
      action: { kind: "format", device: "/dev/loop9p2", fs: "ext4", expect: { partuuid: "p" } },
    },
  ];
  const ctx = { reporter, step: "", log: () => {} } as unknown as RunContext;
  const runner = execaRunner();
  await assert.rejects(
    execute(
      steps,
      ctx,
      {
        format: async () => void (await runner.run(["sh", "-c", "echo boom >&2; exit 3"])),
      } as never,
      async () => void (cleaned = true),
    ),
    /step format-root failed on \/dev\/loop9p2/,
  );
  const fail = events.find((e) => e.kind === "step-fail")!;
  assert.equal(fail.step, "format-root");
  assert.equal(fail.device, "/dev/loop9p2");
  assert.equal(fail.exitCode, 3);
  assert.equal(fail.command, "sh -c 'echo boom >&2; exit 3'");
  assert.equal(fail.stderrTail, "boom");
  assert.ok(cleaned);
});

test("the real runner: exit code, signal, timeout and a missing program, execa's words", async () => {
  const runner = execaRunner();
  const failure = async (cmd: string[], opts = {}) => {
    const err = await runner.run(cmd, opts).then(
      () => assert.fail("it succeeded"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CommandError, String(err));
    return err;
  };
  const exit = await failure(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.equal(
    exit.message,
    "Command failed with exit code 3: sh -c 'echo out; echo err >&2; exit 3'\n\nerr\n\nout",
  );
  assert.equal(exit.output, "err\nout");
  const killed = await failure(["sh", "-c", "kill -KILL $$"]);
  assert.equal(killed.message, "Command was killed with SIGKILL: sh -c 'kill -KILL $$'");
  assert.equal(killed.exitCode, undefined);
  const slow = await failure(["sleep", "5"], { timeoutMs: 100 });
  assert.equal(slow.message, "Command timed out after 100 milliseconds: sleep 5");
  assert.ok(slow.timedOut);
  const missing = await failure(["automagic-no-such-program", "x"]);
  assert.match(missing.message, /^Command failed: automagic-no-such-program x\n\n.*ENOENT/);
});

test("a step's failure found through cause: a phase-2 step reports the command too", async () => {
  const { reporter, events } = recordingReporter();
  const inner = new CommandError("rc-update add nginx default", 1, "no such service");
  await assert.rejects(
    runStep({ id: "services" }, reporter, async () => {
      throw new Error("services: nginx", { cause: inner });
    }),
    /services: nginx/,
  );
  const fail = events.find((e) => e.kind === "step-fail")!;
  assert.deepEqual(
    [fail.step, fail.command, fail.exitCode, fail.stderrTail],
    ["services", "rc-update add nginx default", 1, "no such service"],
  );
});

test("an event the server would refuse is printed, not queued; the events after it still go out", async () => {
  const posted: number[] = [];
  const lines: string[] = [];
  const r = posting(
    (events) => {
      posted.push(...events.map((e) => e.seq));
      return ok();
    },
    { write: (l) => lines.push(l), batchDelayMs: 1000 },
  );
  r.emit({ kind: "log", step: "a", message: "x".repeat(70 * 1024) });
  r.emit({ kind: "log", step: "a", message: "after" });
  await r.flush();
  assert.deepEqual(posted, [2]);
  assert.ok(lines.some((l) => /event 1 \(log\) not reported: .*message/s.test(l)));
});

test("a send that throws is logged and does not break later flushes", async () => {
  let calls = 0;
  const posted: number[] = [];
  const lines: string[] = [];
  let thrown = false;
  const r = posting(
    (events) => {
      if (++calls === 1) return new Response("no", { status: 403 });
      posted.push(...events.map((e) => e.seq));
      return ok();
    },
    {
      write: (l) => {
        lines.push(l);
        // The console goes away while the first failed send is being reported.
        if (!thrown && l.includes("could not report 1 event")) {
          thrown = true;
          throw new Error("console gone");
        }
      },
      batchDelayMs: 1000,
    },
  );
  r.emit({ kind: "run-start" });
  await r.flush();
  assert.ok(lines.some((l) => l === "automagic-install: could not report events: console gone"));
  r.emit({ kind: "step-start", step: "a" });
  await r.flush();
  assert.deepEqual(posted, [1, 2]);
});
