import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CommandError,
  OUTPUT_TAIL,
  commandErrorFrom,
  commandHeadline,
  findCommandError,
  showCommand,
  tail,
} from "../../../shared/command-error.ts";

test("the headline says how the command ended, most specific first", () => {
  const c = "mkfs.ext4 /dev/x";
  assert.equal(
    commandHeadline(c, { exitCode: 1 }),
    "Command failed with exit code 1: mkfs.ext4 /dev/x",
  );
  assert.equal(
    commandHeadline(c, { signal: "SIGTERM" }),
    "Command was killed with SIGTERM: mkfs.ext4 /dev/x",
  );
  // a timeout ends in a signal too; the timeout is the news
  assert.equal(
    commandHeadline(c, { timedOut: true, timeoutMs: 500, signal: "SIGTERM" }),
    "Command timed out after 500 milliseconds: mkfs.ext4 /dev/x",
  );
  assert.equal(commandHeadline(c, { timedOut: true }), "Command timed out: mkfs.ext4 /dev/x");
  assert.equal(commandHeadline(c, {}), "Command failed: mkfs.ext4 /dev/x");
});

test("CommandError: headline, then stderr's tail, then stdout's, a blank line apart", () => {
  const e = new CommandError("mkfs.ext4 /dev/x", 1, "no such device", {
    stdoutTail: "mke2fs 1.47",
  });
  assert.equal(
    e.message,
    "Command failed with exit code 1: mkfs.ext4 /dev/x\n\nno such device\n\nmke2fs 1.47",
  );
  assert.equal(e.output, "no such device\nmke2fs 1.47");
  assert.equal(new CommandError("true", 1, "").message, "Command failed with exit code 1: true");
});

test("commandErrorFrom: an execa result; undefined on success; the result is the cause", () => {
  assert.equal(commandErrorFrom(["true"], { exitCode: 0, failed: false }), undefined);
  const r = { exitCode: 2, failed: true, stdout: "o\n", stderr: "e\n" };
  const e = commandErrorFrom(["tar", "x f"], r)!;
  assert.equal(e.command, "tar 'x f'");
  assert.equal(e.message, "Command failed with exit code 2: tar 'x f'\n\ne\n\no");
  assert.equal(e.cause, r);
  const spawn = commandErrorFrom(["nope"], { failed: true, originalMessage: "spawn nope ENOENT" })!;
  assert.equal(spawn.message, "Command failed: nope\n\nspawn nope ENOENT");
  const killed = commandErrorFrom(["sleep", "9"], { failed: true, signal: "SIGKILL", stderr: "" })!;
  assert.deepEqual(
    [killed.signal, killed.exitCode, killed.message],
    ["SIGKILL", undefined, "Command was killed with SIGKILL: sleep 9"],
  );
  const timed = commandErrorFrom(
    ["sleep", "9"],
    { failed: true, timedOut: true, signal: "SIGTERM" },
    50,
  )!;
  assert.equal(timed.message, "Command timed out after 50 milliseconds: sleep 9");
  // `all` (interleaved, execa's lines mode gives an array) is the one output
  const all = commandErrorFrom(["m"], { exitCode: 1, all: ["a", "b"], stderr: "b", stdout: "a" })!;
  assert.equal(all.output, "a\nb");
});

test("each stream keeps its last OUTPUT_TAIL characters (where the error is), trimmed", () => {
  const long = `${"x".repeat(OUTPUT_TAIL)}THE END\n`;
  const kept = `${"x".repeat(OUTPUT_TAIL - "THE END\n".length)}THE END`;
  assert.equal(tail(long), kept);
  const e = commandErrorFrom(["make"], { exitCode: 2, stderr: long, stdout: long })!;
  assert.deepEqual([e.stderrTail, e.stdoutTail], [kept, kept]);
});

test("findCommandError follows cause; showCommand quotes only what needs it", () => {
  const ce = new CommandError("x", 1, "");
  assert.equal(findCommandError(new Error("a", { cause: new Error("b", { cause: ce }) })), ce);
  assert.equal(findCommandError(new Error("plain")), undefined);
  assert.equal(showCommand(["sh", "-c", "it's"]), `sh -c 'it'\\''s'`);
});
