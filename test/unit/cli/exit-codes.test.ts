// Every failure kind maps to its documented exit code (docs/CLI.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CommanderError } from "commander";
import { AdminApiError } from "../../../server/app/client.ts";
import { CliError, EXIT, exitCodeFor, kindOfStatus } from "../../../server/cli/exit-codes.ts";
import { ActionError } from "../../../server/policy/actions.ts";

test("exit codes: the documented numbers", () => {
  assert.deepEqual(EXIT, {
    ok: 0,
    failed: 1,
    usage: 2,
    notFound: 3,
    refused: 4,
    unreachable: 5,
    unauthorized: 6,
    serverError: 7,
    timeout: 8,
  });
});

test("exit codes: HTTP statuses of the admin API", () => {
  const cases: [number, keyof typeof EXIT][] = [
    [400, "refused"],
    [401, "unauthorized"],
    [403, "unauthorized"],
    [404, "notFound"],
    [409, "refused"],
    [413, "refused"],
    [500, "serverError"],
    [501, "refused"],
    [502, "serverError"],
  ];
  for (const [status, kind] of cases) {
    assert.equal(kindOfStatus(status), kind, `HTTP ${status}`);
    assert.equal(exitCodeFor(new AdminApiError(status, "x")), EXIT[kind], `HTTP ${status}`);
  }
});

test("exit codes: unreachable, usage, typed and unknown failures", () => {
  assert.equal(exitCodeFor(new AdminApiError("unreachable", "ECONNREFUSED")), 5);
  assert.equal(exitCodeFor(new ActionError('action "x": expected ...')), 2);
  assert.equal(exitCodeFor(new CommanderError(1, "commander.unknownCommand", "unknown")), 2);
  assert.equal(exitCodeFor(new CommanderError(0, "commander.helpDisplayed", "(help)")), 0);
  assert.equal(exitCodeFor(new CliError("notFound", "no host")), 3);
  assert.equal(exitCodeFor(new Error("disk full")), 1);
  assert.equal(exitCodeFor("a string"), 1);
});
