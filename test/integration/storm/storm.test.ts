// A small boot storm through the real `automagic serve -c` in a namespace:
// 50 machines power on within 5 s, a quarter through firmware PXE + TFTP, and
// every one must get its lease, loader, script, kernel and initrd
// (byte-identical), its spec, have its events stored and its run end done.
// A regression that drops or stalls machines under concurrency fails here
// (test/bench/storm.bench.ts measures the same walk at N = 100, 300).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { format, type StormReport } from "../../bench/storm/report.ts";
import { storm } from "../../bench/storm/run.ts";
import { automagicStack } from "../../bench/storm/stacks.ts";
import { makeHosts, makeImage } from "../../bench/storm/world.ts";

const N = 50;
let dir: string;
let report: StormReport;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "am-storm-"));
  const image = makeImage(dir, 2, 8);
  const stack = await automagicStack(dir, image, makeHosts(dir, N), N);
  try {
    report = await storm(
      stack,
      { n: N, spreadMs: 5000, tftpShare: 0.25, installSeconds: 3, armed: N },
      image,
      dir,
    );
  } finally {
    await stack.stop();
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("every machine of a 50-machine storm reaches its initrd and finishes its run", (t) => {
  t.diagnostic(format(report));
  assert.deepEqual(report.errors, [], "no machine failed");
  assert.equal(report.ok, N);
  assert.equal(report.booted, N, "every armed machine was given the image");
  assert.equal(report.stages.initrd?.n, N, "every machine holds a byte-identical initrd");
  assert.equal(report.stages.tftp?.n, Math.ceil(N / 4), "a quarter loaded undionly.kpxe over TFTP");
  assert.equal(report.stages.done?.n, N);
  assert.equal(report.tally.runsDone, N, "the server counts every run done");
  assert.equal(report.tally.runsFailed, 0);
  assert.equal(report.tally.dhcpErrors, 0);
});
