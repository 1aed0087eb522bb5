// /healthz and /metrics, and the request counters behind /metrics. Open to
// anyone who reaches the port, like the boot routes: both are read-only,
// name no host, MAC or address (component names, statuses, actions and step
// names only) and cost a few in-memory reads and small queries
// (docs/OPERATIONS.md says so to operators).
import { Router } from "express";
import type { DhcpStats } from "../dhcp/index.ts";
import type { MirrorStats } from "../mirror/index.ts";
import type { TftpStats } from "../tftp/index.ts";
import type { AppDeps } from "./deps.ts";
import { healthReport, runChecks, storeCheck, type ComponentCheck } from "./health.ts";
import { ServerMetrics } from "./metrics.ts";

/** What `serve` runs besides the app; tests building the app alone leave it out. */
export interface OpsSources {
  /** DHCP, TFTP, HTTP listeners, mirror upstream (the store is checked here). */
  checks?: () => ComponentCheck[];
  dhcp?: () => DhcpStats | undefined;
  tftp?: () => TftpStats | undefined;
  mirror?: () => MirrorStats | undefined;
}

export function opsRouter(deps: AppDeps): Router {
  const checks = () =>
    runChecks([
      ["store", () => storeCheck(deps.store)],
      ["serve", () => deps.ops?.checks?.() ?? []],
    ]);
  const metrics = new ServerMetrics({
    store: deps.store,
    stallMs: deps.config.stallMs,
    ops: deps.ops,
    checks,
  });
  const r = Router();
  r.use(metrics.requests.track);
  r.get("/healthz", (_req, res) => {
    const report = healthReport(checks());
    res.status(report.status).setHeader("Cache-Control", "no-store");
    res.json(report.body);
  });
  r.get("/metrics", async (_req, res) => {
    const text = await metrics.text();
    res.setHeader("Cache-Control", "no-store");
    res.type(metrics.contentType).send(text);
  });
  return r;
}
