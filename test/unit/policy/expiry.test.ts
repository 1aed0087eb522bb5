import { test } from "node:test";
import assert from "node:assert/strict";
import { expiryOf, span } from "../../../server/policy/expiry.ts";
import type { RunFacts } from "../../../server/policy/state-machine.ts";

const W = { armForMs: 24 * 3600_000, bootWindowMs: 30 * 60_000 };
const T0 = Date.parse("2026-12-01T10:00:00Z");

test("an armed action expires after armFor, with the reason", () => {
  const f = { armed: "install" as const, armedAt: T0 };
  assert.equal(expiryOf(f, T0 + W.armForMs - 1, W), undefined);
  const e = expiryOf(f, T0 + W.armForMs, W);
  assert.equal(e?.kind, "disarm");
  assert.match(
    e!.reason,
    /^armed install expired: no machine booted it within 24 h \(armed 2026-12-01T10:00:00\.000Z\)$/,
  );
});

test("a run still booting expires after bootWindow; a running one never does", () => {
  const run: RunFacts = {
    id: 7,
    host: "ws1",
    action: "install",
    status: "booting",
    phase: 1,
    startedAt: T0,
  };
  assert.equal(expiryOf({ armed: "local", run }, T0 + W.bootWindowMs - 1, W), undefined);
  const e = expiryOf({ armed: "local", run }, T0 + W.bootWindowMs, W);
  assert.deepEqual(e?.kind === "expire-run" && e.runId, 7);
  assert.match(
    e!.reason,
    /run 7 \(install\) expired: its payload never fetched the spec within 30 min/,
  );
  const running = { ...run, status: "running" as const };
  assert.equal(expiryOf({ armed: "local", run: running }, T0 + 100 * W.armForMs, W), undefined);
});

test("span says the unit a person would", () => {
  assert.equal(span(90_000), "90 s");
  assert.equal(span(30 * 60_000), "30 min");
  assert.equal(span(24 * 3600_000), "24 h");
});
