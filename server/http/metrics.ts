// GET /metrics (Prometheus text format, prom-client). What the server
// already counts is read at scrape time: the DHCP and TFTP servers' own
// stats, the mirror cache's hits and misses, runs and step events from the
// state database (server/state/tallies.ts). Only HTTP requests, boot
// decisions and artifact bytes are counted as they happen
// (request-metrics.ts), because nothing kept them before.
// Labels come from closed sets (statuses, actions, step names capped in
// step-timer.ts): no host name, MAC or address appears here.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { DhcpStats } from "../dhcp/index.ts";
import { isStalled } from "../policy/state-machine.ts";
import type { TftpStats } from "../tftp/index.ts";
import type { StateStore } from "../state/store.ts";
import { activeRuns, lastEventId, runsByStatus, stepEventsAfter } from "../state/tallies.ts";
import type { ComponentCheck } from "./health.ts";
import type { OpsSources } from "./ops.ts";
import { RequestMetrics } from "./request-metrics.ts";
import { StepTimer } from "./step-timer.ts";

export interface MetricsSources {
  store: StateStore;
  /** A run silent this long counts as stalled (config.stallMs). */
  stallMs: number;
  ops?: OpsSources | undefined;
  checks: () => ComponentCheck[];
}

type Labels = Record<string, string>;
type Samples = Array<[Labels, number]>;

const FINAL = ["done", "failed", "cancelled", "expired"] as const;
const ACTIVE = ["booting", "running"] as const;
/** The servers' own counters (server/dhcp, server/tftp stats()) as Prometheus counters. */
const DHCP_COUNTERS: Array<[string, string, keyof DhcpStats]> = [
  ["automagic_dhcp_received_total", "DHCP datagrams received", "received"],
  ["automagic_dhcp_replied_total", "DHCP replies sent", "replied"],
  ["automagic_dhcp_errors_total", "DHCP handler or send failures", "errors"],
];
const DHCP_DROPS = ["oversized", "malformed", "ignored"] as const;
const TFTP_COUNTERS: Array<[string, string, keyof TftpStats]> = [
  ["automagic_tftp_transfers_total", "TFTP transfers started", "transfers"],
  ["automagic_tftp_errors_total", "TFTP requests refused and transfers failed", "errors"],
  ["automagic_tftp_malformed_total", "TFTP datagrams dropped undecoded", "malformed"],
];
/** Step events read per scrape; the rest wait for the next one. */
const STEP_BATCH = 20_000;

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: RequestMetrics;
  readonly #src: MetricsSources;
  readonly #steps = new StepTimer();
  #stepCursor: number;

  constructor(src: MetricsSources) {
    this.#src = src;
    this.#stepCursor = lastEventId(src.store.db);
    this.requests = new RequestMetrics(this.registry);
    this.#protocolCounters();
    this.#runMetrics();
    this.#mirrorCounters();
    // The process itself (RSS, heap, event-loop delay as nodejs_eventloop_lag_*):
    // what a boot storm shows first when the one event loop falls behind.
    collectDefaultMetrics({ register: this.registry });
    this.#gauge(
      "automagic_component_up",
      "1 when the component is up (see /healthz); off ones are left out",
      ["component"],
      () =>
        src
          .checks()
          .filter((c) => c.state !== "off")
          .map((c) => [{ component: c.name }, c.state === "up" ? 1 : 0]),
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  #protocolCounters(): void {
    const dhcp = () => this.#src.ops?.dhcp?.();
    const tftp = () => this.#src.ops?.tftp?.();
    for (const [name, help, field] of DHCP_COUNTERS)
      this.#counter(name, help, [], () => one(dhcp()?.[field]));
    this.#counter(
      "automagic_dhcp_dropped_total",
      "DHCP datagrams not answered, by why",
      ["reason"],
      () => {
        const s = dhcp();
        return s ? DHCP_DROPS.map((reason) => [{ reason }, s[reason]]) : [];
      },
    );
    for (const [name, help, field] of TFTP_COUNTERS)
      this.#counter(name, help, [], () => one(tftp()?.[field]));
    this.#gauge("automagic_tftp_active_transfers", "TFTP transfers in flight", [], () =>
      one(tftp()?.active),
    );
  }

  #runMetrics(): void {
    const db = this.#src.store.db;
    this.#counter("automagic_runs_total", "Runs ended, by outcome", ["outcome"], () => {
      const n = runsByStatus(db);
      return FINAL.map((s) => [{ outcome: s }, n.get(s) ?? 0]);
    });
    this.#gauge("automagic_runs_active", "Runs booting or running", ["status"], () => {
      const n = runsByStatus(db);
      return ACTIVE.map((s) => [{ status: s }, n.get(s) ?? 0]);
    });
    this.#gauge("automagic_runs_stalled", "Active runs silent for stallAfter or longer", [], () => {
      const now = Date.now(); // as status and the sweep judge it
      return one(activeRuns(db).filter((r) => isStalled(r, now, this.#src.stallMs)).length);
    });
    this.#counter(
      "automagic_trace_rows_dropped_total",
      "Boot trace and discovered rows refused by their rate limits and caps (server/state/observations.ts)",
      [],
      () => one(this.#src.store.obs.dropped),
    );
    const steps = this.#steps;
    const read = () => this.#readSteps();
    new Histogram({
      name: "automagic_step_duration_seconds",
      help: "Payload step durations (payload clock), by step and outcome, since serve started",
      labelNames: ["step", "outcome"],
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
      registers: [this.registry],
      collect() {
        for (const d of steps.feed(read()))
          this.observe({ step: d.step, outcome: d.outcome }, d.seconds);
      },
    });
  }

  #readSteps() {
    const rows = stepEventsAfter(this.#src.store.db, this.#stepCursor, STEP_BATCH);
    if (rows.length > 0) this.#stepCursor = rows[rows.length - 1]!.id;
    return rows;
  }

  #mirrorCounters(): void {
    const m = () => this.#src.ops?.mirror?.();
    this.#counter(
      "automagic_mirror_cache_requests_total",
      "Mirror requests, by whether the cache held the unit",
      ["result"],
      () => {
        const s = m();
        return s
          ? [
              [{ result: "hit" }, s.hits],
              [{ result: "miss" }, s.misses],
            ]
          : [];
      },
    );
    this.#counter(
      "automagic_mirror_upstream_fetches_total",
      "Mirror downloads from upstream: ok, missing (not there), failed",
      ["result"],
      () => {
        const s = m();
        if (!s) return [];
        const ok = s.upstreamFetches - s.upstreamMissing - s.upstreamFailures;
        return [
          [{ result: "ok" }, ok],
          [{ result: "missing" }, s.upstreamMissing],
          [{ result: "failed" }, s.upstreamFailures],
        ];
      },
    );
  }

  /** A counter whose value is read from `read` at scrape time. */
  #counter(name: string, help: string, labelNames: string[], read: () => Samples): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, v] of read()) this.inc(labels, v);
      },
    });
  }

  #gauge(name: string, help: string, labelNames: string[], read: () => Samples): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, v] of read()) this.set(labels, v);
      },
    });
  }
}

function one(v: number | undefined): Samples {
  return v === undefined ? [] : [[{}, v]];
}
