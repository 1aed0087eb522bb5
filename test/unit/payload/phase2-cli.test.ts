// runPhase2Cli with a recording reporter: runPhase2 already reports
// phase-done, run-done and step-fail; the CLI must not add its own, so the
// server sees exactly one outcome per run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runPhase2Cli, type Phase2CliReporter } from "../../../payload/phase2-cli.ts";
import { CommandError } from "../../../shared/command-error.ts";
import { type CommandRunner } from "../../../payload/run/runner.ts";
import type { Phase2Event } from "../../../payload/phase2/types.ts";
import type { InstallSpec } from "../../../payload/spec/schema.ts";
import { phase2Spec } from "../phase2/spec.ts";

function recorder(): Phase2CliReporter & { events: Phase2Event[]; flushed: number } {
  const r = {
    events: [] as Phase2Event[],
    flushed: 0,
    emit: (e: Phase2Event) => void r.events.push(e),
    flush: async () => void r.flushed++,
  };
  return r;
}

function serving(spec: InstallSpec | undefined): typeof fetch {
  return (async (url: string) => {
    assert.equal(String(url), "http://srv:8080/api/v1/run/tok2/spec");
    return spec
      ? new Response(JSON.stringify(spec), { headers: { "content-type": "application/json" } })
      : new Response("gone", { status: 403 });
  }) as unknown as typeof fetch;
}

function runner(failOn?: string): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async run(cmd) {
      calls.push([...cmd]);
      if (failOn && cmd.includes(failOn))
        throw new CommandError(cmd.join(" "), 3, `${failOn}: no such service`);
      return { stdout: "", stderr: "" };
    },
  };
}

const spec = phase2Spec({
  packages: [],
  portage: { profile: "p", sync: false },
  overlay: { present: false },
  services: { enable: ["nginx"], disable: [] },
});

async function inRoot<T>(fn: (root: string) => Promise<T>): Promise<T> {
  const root = mkdtempSync(path.join(tmpdir(), "p2-cli-"));
  mkdirSync(path.join(root, "etc/portage"), { recursive: true });
  try {
    return await fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const count = (ev: Phase2Event[], kind: Phase2Event["kind"]) =>
  ev.filter((e) => e.kind === kind).length;

test("success: exactly one phase-done and one run-done, no step-fail", async () => {
  await inRoot(async (root) => {
    const rep = recorder();
    const r = runner();
    const code = await runPhase2Cli({
      server: "http://srv:8080/",
      token: "tok2",
      root,
      reporter: rep,
      runner: r,
      fetch: serving(spec),
    });
    assert.equal(code, 0);
    assert.ok(
      r.calls.some((c) => c.includes("rc-update")),
      "services step ran",
    );
    assert.equal(count(rep.events, "run-start"), 1);
    assert.equal(count(rep.events, "phase-done"), 1);
    assert.equal(count(rep.events, "run-done"), 1);
    assert.equal(count(rep.events, "step-fail"), 0);
    assert.equal(rep.events.at(-1)!.kind, "run-done");
    assert.ok(rep.flushed >= 1, "events flushed before exit");
  });
});

test("a failed step: exactly one step-fail (the step's own, with command), no run-done", async () => {
  await inRoot(async (root) => {
    const rep = recorder();
    const code = await runPhase2Cli({
      server: "http://srv:8080",
      token: "tok2",
      root,
      reporter: rep,
      runner: runner("rc-update"),
      fetch: serving(spec),
    });
    assert.equal(code, 1);
    const fails = rep.events.filter((e) => e.kind === "step-fail");
    assert.equal(fails.length, 1);
    assert.equal(fails[0]!.step, "services");
    assert.equal(fails[0]!.exitCode, 3);
    assert.match(fails[0]!.command ?? "", /rc-update/);
    assert.equal(count(rep.events, "run-done"), 0);
    assert.equal(count(rep.events, "phase-done"), 0);
    assert.ok(rep.flushed >= 1);
  });
});

test("the spec cannot be fetched: one step-fail naming the spec URL", async () => {
  const rep = recorder();
  const code = await runPhase2Cli({
    server: "http://srv:8080",
    token: "tok2",
    reporter: rep,
    runner: runner(),
    fetch: serving(undefined),
  });
  assert.equal(code, 1);
  const fails = rep.events.filter((e) => e.kind === "step-fail");
  assert.deepEqual(
    fails.map((e) => [e.step, e.message]),
    [["spec", "GET http://srv:8080/api/v1/run/tok2/spec: HTTP 403"]],
  );
  assert.equal(count(rep.events, "run-done"), 0);
});
