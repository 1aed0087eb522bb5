// A long step's progress: redrawn in place on a terminal (throttled), a plain
// line per tenth in a log, exact text both ways.
import { test } from "node:test";
import assert from "node:assert/strict";
import { progressLine, renderBar } from "../../../server/app/progress-line.ts";

const MiB = 1024 * 1024;

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (s: string) => writes.push(s) };
}

test("renderBar: bar, percent and sizes; no total: just the size", () => {
  assert.equal(renderBar("pack", 100 * MiB, 400 * MiB, 8), "pack [##......]  25% 100.0/400.0 MiB");
  assert.equal(renderBar("pack", 500 * MiB, 400 * MiB, 4), "pack [####] 100% 400.0/400.0 MiB");
  assert.equal(renderBar("pack", 3 * MiB), "pack 3.0 MiB");
});

test("progressLine on a TTY: one line redrawn at most every 200 ms, ended by a newline", () => {
  let t = 0;
  const out = sink(true);
  const line = progressLine("pack", out, { now: () => t });
  for (let i = 1; i <= 100; i++) {
    t += 10; // 100 updates over 1 s
    line.update(i * MiB, 100 * MiB);
  }
  line.end();
  assert.ok(out.writes.length <= 7, `${out.writes.length} draws`);
  assert.ok(out.writes.every((w) => w.startsWith("\r") && !w.slice(0, -1).includes("\n")));
  assert.equal(out.writes.at(-1), `\rpack [${"#".repeat(24)}] 100% 100.0/100.0 MiB\x1b[K\n`);
});

test("progressLine in a log: a plain line per tenth, nothing redrawn", () => {
  const out = sink(false);
  const line = progressLine("pack", out, { now: () => 0 });
  for (let i = 1; i <= 100; i++) line.update(i * MiB, 100 * MiB);
  line.end();
  assert.equal(out.writes.length, 10);
  assert.equal(out.writes[0], "pack [##......................]  10% 10.0/100.0 MiB\n");
  assert.ok(out.writes.every((w) => !w.includes("\r")));
  const summary = sink(false);
  const l2 = progressLine("pack", summary);
  l2.update(1, 20); // 5%: no tenth crossed yet
  l2.end("pack: done");
  assert.deepEqual(summary.writes, ["pack: done\n"]);
});
