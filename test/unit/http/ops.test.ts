// /healthz and /metrics through the app as a value (harness.ts), plus the
// pure parts: the health report, route labels, step pairing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { healthReport, type ComponentCheck } from "../../../server/http/health.ts";
import { decisionLabel, routeOf } from "../../../server/http/request-metrics.ts";
import { MAX_STEPS, StepTimer } from "../../../server/http/step-timer.ts";
import type { StepEventRow } from "../../../server/state/tallies.ts";
import { sample } from "../../lib/prom.ts";
import { KNOWN, UNKNOWN, json, parseBootScript, startHarness } from "./harness.ts";

const up = (name: string): ComponentCheck => ({ name, state: "up", needed: true });

test("health report: 200 when every needed part is up, 503 naming what is down and why", () => {
  assert.deepEqual(healthReport([up("store"), up("http")]), {
    status: 200,
    body: {
      status: "ok",
      down: [],
      components: { store: { state: "up", needed: true }, http: { state: "up", needed: true } },
    },
  });
  const tftpDown: ComponentCheck = { name: "tftp", state: "down", needed: true, detail: "stopped" };
  const r = healthReport([up("store"), tftpDown]);
  assert.equal(r.status, 503);
  assert.equal(r.body.status, "down");
  assert.deepEqual(r.body.down, ["tftp: stopped"]);
  const mirror: ComponentCheck = { name: "mirror", state: "down", needed: false, detail: "x" };
  const off: ComponentCheck = { name: "dhcp", state: "off", needed: false };
  const d = healthReport([up("store"), mirror, off]);
  assert.equal(d.status, 200, "a part that is not needed being down does not fail the check");
  assert.equal(d.body.status, "degraded");
  assert.deepEqual(d.body.down, ["mirror: x"]);
});

test("request labels come from fixed lists", () => {
  assert.equal(routeOf("/boot.ipxe"), "boot.ipxe");
  assert.equal(routeOf("/images/a/0123/vmlinuz"), "images");
  assert.equal(routeOf("/api/v1/run/tok/events"), "run");
  assert.equal(routeOf("/mirror/releases/x"), "mirror");
  assert.equal(routeOf("/etc/passwd"), "other");
  assert.equal(decisionLabel("deploy:gold-1"), "deploy");
  assert.equal(decisionLabel("local"), "local");
});

const ev = (id: number, kind: StepEventRow["kind"], step: string, at: number, runId = 1) => ({
  id,
  runId,
  phase: 1,
  kind,
  step,
  time: at * 1000,
});

test("step timer pairs start with end or fail of the same run, phase and step", () => {
  const t = new StepTimer();
  assert.deepEqual(
    t.feed([
      ev(1, "step-start", "partition", 100),
      ev(2, "step-start", "partition", 100, 2),
      ev(3, "step-end", "partition", 103),
      ev(4, "step-end", "format-root", 104), // never started: ignored
      ev(5, "step-fail", "partition", 160, 2),
    ]),
    [
      { step: "partition", outcome: "ok", seconds: 3 },
      { step: "partition", outcome: "failed", seconds: 60 },
    ],
  );
  // A start in one scrape, its end in the next.
  assert.deepEqual(t.feed([ev(6, "step-start", "portage", 0)]), []);
  assert.deepEqual(t.feed([ev(7, "step-end", "portage", 2)]), [
    { step: "portage", outcome: "ok", seconds: 2 },
  ]);
  // Step names beyond MAX_STEPS share one label.
  const many = new StepTimer();
  const rows = [];
  for (let i = 0; i <= MAX_STEPS; i++)
    rows.push(ev(2 * i, "step-start", `s${i}`, 0), ev(2 * i + 1, "step-end", `s${i}`, 1));
  assert.equal(many.feed(rows).at(-1)?.step, "other");
});

test("/healthz: the store and what serve reports; 503 when a needed part is down", async (t) => {
  let tftp: ComponentCheck = { name: "tftp", state: "up", needed: true };
  const h = await startHarness({
    ops: {
      checks: () => {
        if (!tftp) throw new TypeError("no tftp");
        return [tftp];
      },
    },
  });
  t.after(() => h.close());
  const ok = await fetch(`${h.url}/healthz`);
  assert.equal(ok.status, 200);
  assert.deepEqual((await json(ok)).components, {
    store: { state: "up", needed: true },
    tftp: { state: "up", needed: true },
  });
  tftp = { name: "tftp", state: "down", needed: true, detail: "cannot bind 10.0.0.1:69" };
  const bad = await fetch(`${h.url}/healthz`);
  assert.equal(bad.status, 503);
  assert.deepEqual((await json(bad)).down, ["tftp: cannot bind 10.0.0.1:69"]);
  tftp = undefined as unknown as ComponentCheck; // a check that throws: down, not a 500
  const broken = await fetch(`${h.url}/healthz`);
  assert.equal(broken.status, 503);
  assert.match((await json(broken)).down[0], /^serve: check failed: TypeError/);
});

test("/healthz: a closed state database is down", async (t) => {
  const h = await startHarness();
  t.after(() => h.close().catch(() => {}));
  h.store.db.close();
  const r = await fetch(`${h.url}/healthz`);
  assert.equal(r.status, 503);
  assert.match((await json(r)).down[0], /^store: state database: /);
});

test("/metrics: protocol counters read from the servers, requests, decisions, runs, steps", async (t) => {
  const dhcp = { received: 7, oversized: 1, malformed: 2, replied: 3, ignored: 1, errors: 0 };
  const h = await startHarness({
    ops: {
      dhcp: () => dhcp,
      tftp: () => ({ transfers: 4, errors: 1, malformed: 0, active: 2 }),
      mirror: () => ({
        hits: 5,
        misses: 2,
        upstreamFetches: 3,
        upstreamMissing: 1,
        upstreamFailures: 1,
      }),
      checks: () => [{ name: "dhcp", state: "up", needed: true }],
    },
  });
  t.after(() => h.close());
  const scrape = async () => {
    const r = await fetch(`${h.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return r.text();
  };
  const before = await scrape();
  assert.equal(sample(before, "automagic_dhcp_received_total"), 7);
  assert.equal(sample(before, "automagic_dhcp_dropped_total", { reason: "malformed" }), 2);
  assert.equal(sample(before, "automagic_tftp_transfers_total"), 4);
  assert.equal(sample(before, "automagic_tftp_active_transfers"), 2);
  assert.equal(sample(before, "automagic_mirror_cache_requests_total", { result: "hit" }), 5);
  assert.equal(sample(before, "automagic_mirror_upstream_fetches_total", { result: "ok" }), 1);
  assert.equal(sample(before, "automagic_component_up", { component: "store" }), 1);
  assert.equal(sample(before, "automagic_runs_total", { outcome: "done" }), 0);
  assert.equal(sample(before, "automagic_trace_rows_dropped_total"), 0);
  dhcp.received = 9;

  // An unknown MAC boots local; an armed one gets the image and fetches the kernel.
  await fetch(`${h.url}/boot.ipxe?mac=${UNKNOWN}`);
  h.store.arm("ws1", "install");
  const script = parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text());
  const kernel = await fetch(script.kernel.replace("http://127.0.0.1:8080", h.url));
  assert.equal(await kernel.text(), "kernel-bytes");
  const check = h.store.checkToken(script.token);
  assert.ok(check.ok);
  const runId = check.run.id;
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  h.store.appendEvents(runId, 1, [
    { seq: 1, time: at(0), phase: 1, kind: "step-start", step: "partition" },
    { seq: 2, time: at(4), phase: 1, kind: "step-end", step: "partition" },
  ]);

  const after = await scrape();
  assert.equal(sample(after, "automagic_dhcp_received_total"), 9);
  assert.equal(sample(after, "automagic_boot_decisions_total", { decision: "local" }), 1);
  assert.equal(sample(after, "automagic_boot_decisions_total", { decision: "install" }), 1);
  assert.equal(sample(after, "automagic_artifact_bytes_total", { file: "vmlinuz" }), 12);
  assert.equal(
    sample(after, "automagic_http_requests_total", { route: "boot.ipxe", status: "200" }),
    2,
  );
  assert.equal(sample(after, "automagic_runs_active", { status: "running" }), 1);
  assert.equal(sample(after, "automagic_runs_stalled"), 0);
  const bucket = { step: "partition", outcome: "ok", le: "5" };
  assert.equal(sample(after, "automagic_step_duration_seconds_bucket", bucket), 1);
  assert.equal(
    sample(after, "automagic_step_duration_seconds_sum", { step: "partition", outcome: "ok" }),
    4,
  );

  // Last heard from longer than stallMs ago (the store's clock set back): stalled; then done.
  h.clock.now -= 700_000;
  h.store.appendEvents(runId, 1, [{ seq: 3, time: at(5), phase: 1, kind: "log", message: "." }]);
  assert.equal(sample(await scrape(), "automagic_runs_stalled"), 1);
  h.store.appendEvents(runId, 1, [{ seq: 4, time: at(9), phase: 1, kind: "run-done" }]);
  const done = await scrape();
  assert.equal(sample(done, "automagic_runs_total", { outcome: "done" }), 1);
  assert.equal(sample(done, "automagic_runs_stalled"), 0);
  assert.doesNotMatch(done, new RegExp(`${KNOWN}|ws1`), "no MAC or host name in /metrics");
});

test("/metrics: the process's own RSS and event-loop delay", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const rss = sample(text, "process_resident_memory_bytes");
  assert.ok(rss !== undefined && rss > 10 * 1024 * 1024, `RSS ${rss}`);
  const lag = sample(text, "nodejs_eventloop_lag_p99_seconds");
  assert.ok(lag !== undefined && lag >= 0 && lag < 10, `event-loop p99 ${lag}`);
});
