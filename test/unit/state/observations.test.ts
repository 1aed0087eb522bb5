// Issue #14: unauthenticated traffic (DHCP, TFTP, boot.ipxe with random MACs)
// writes observations in batches, rate-limited per MAC, under row caps.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { StateStore } from "../../../server/state/store.ts";
import { DISCOVERED_MAX, TRACE_MAX } from "../../../server/state/observations.ts";

function open(t: TestContext): { store: StateStore; count: (table: string) => number } {
  const dir = mkdtempSync(join(tmpdir(), "am-obs-"));
  const store = new StateStore(dir);
  // A second connection sees only what was committed.
  const reader = new Database(join(dir, "automagic.sqlite"), { readonly: true });
  t.after(() => {
    reader.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const count = (table: string) =>
    (reader.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { store, count };
}

const mac = (i: number) =>
  ["02", ...[16, 8, 0].map((s) => ((i >> s) & 255).toString(16).padStart(2, "0")), "00", "01"].join(
    ":",
  );

test("observations are committed in one batch per event-loop turn, not one transaction per packet", async (t) => {
  const { store, count } = open(t);
  for (let i = 0; i < 20; i++) store.obs.trace(mac(1), "dhcp", "DISCOVER");
  store.obs.discover(mac(2), { via: "boot.ipxe" });
  assert.equal(count("trace"), 0);
  assert.equal(count("discovered"), 0);
  await new Promise((r) => setImmediate(r)); // the turn ends: one flush
  assert.equal(count("trace"), 20);
  assert.equal(count("discovered"), 1);
  // Reads see what is pending: they flush first.
  store.obs.trace(mac(1), "tftp", "rrq");
  assert.equal(store.obs.traceFor([mac(1)]).at(-1)?.what, "rrq");
});

test("one MAC cannot flood the trace: rows per MAC per second are capped and counted", async (t) => {
  const { store } = open(t);
  for (let i = 0; i < 1000; i++) {
    store.obs.trace(mac(1), "dhcp", "DISCOVER");
    if (i % 100 === 0) await new Promise((r) => setImmediate(r)); // many turns, one second
  }
  store.obs.trace(mac(2), "dhcp", "DISCOVER");
  store.obs.flush();
  const one = store.obs.traceFor([mac(1)], 10_000).length;
  assert.ok(one > 0 && one <= 30, `rows kept for the flooding MAC: ${one}`);
  assert.equal(store.obs.traceFor([mac(2)]).length, 1, "another MAC is not starved");
  assert.equal(store.obs.dropped, 1000 - one);
});

test("1e5 random MACs: discovered and trace stay under their row caps", (t) => {
  const { store, count } = open(t);
  for (let i = 0; i < 100_000; i++) {
    store.obs.discover(mac(i), { via: "boot.ipxe", ip: "10.0.0.9" });
    store.obs.trace(mac(i), "http", "boot.ipxe served");
    if (i % 5000 === 4999) store.obs.flush();
  }
  store.obs.flush();
  assert.equal(count("discovered"), DISCOVERED_MAX);
  assert.ok(count("trace") <= TRACE_MAX, `trace rows ${count("trace")}`);
  // The most recently seen are the ones kept.
  assert.equal(store.obs.discovered()[0]?.mac, mac(99_999));
});
