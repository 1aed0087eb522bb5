// The HTTP counters, counted once per response as it closes: requests by
// route and status, boot decisions (boot.ts leaves its decision in
// res.locals.bootDecision), and artifact bytes (kernel, initrd and the iPXE
// binaries, counted when the whole body went out). Route and file labels
// come from fixed lists, so a scan of random paths adds no series.
import type { RequestHandler, Response } from "express";
import { Counter, type Registry } from "prom-client";

const ROUTES: Array<[RegExp, string]> = [
  [/^\/boot\.ipxe$/, "boot.ipxe"],
  [/^\/images\//, "images"],
  [/^\/ipxe\//, "ipxe"],
  [/^\/api\/v1\/run\//, "run"],
  [/^\/api\/v1\/admin\//, "admin"],
  [/^\/mirror\//, "mirror"],
  [/^\/ui(\/|$)/, "ui"],
  [/^\/healthz$/, "healthz"],
  [/^\/metrics$/, "metrics"],
];

const ARTIFACTS = new Set([
  "vmlinuz",
  "initrd.img",
  "snponly.efi",
  "ipxe.efi",
  "undionly.kpxe",
  "ipxe.pxe",
]);

/** The route label of a request path. */
export function routeOf(path: string): string {
  return ROUTES.find(([re]) => re.test(path))?.[1] ?? "other";
}

/** The boot decision's label: the action without its argument (deploy:<img> -> deploy). */
export function decisionLabel(served: string): string {
  return served.split(":")[0]!;
}

/** What `boot.ts` tells the counters about one response. */
export function noteBootDecision(res: Response, served: string): void {
  res.locals.bootDecision = served;
}

export class RequestMetrics {
  readonly requests: Counter<"route" | "status">;
  readonly bootDecisions: Counter<"decision">;
  readonly artifactBytes: Counter<"file">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: "automagic_http_requests_total",
      help: "HTTP responses, by route and status",
      labelNames: ["route", "status"],
      registers,
    });
    this.bootDecisions = new Counter({
      name: "automagic_boot_decisions_total",
      help: "boot.ipxe answers for a MAC, by decision (local, install, capture, deploy, rescue, error)",
      labelNames: ["decision"],
      registers,
    });
    this.artifactBytes = new Counter({
      name: "automagic_artifact_bytes_total",
      help: "Bytes of boot artifacts sent over HTTP (whole responses), by file",
      labelNames: ["file"],
      registers,
    });
  }

  /** Counts every request when its response closes. */
  readonly track: RequestHandler = (req, res, next) => {
    // Read now: a mounted router (/mirror) strips its prefix from req.url.
    const { method, path } = req;
    res.once("close", () => this.#count(method, path, res));
    next();
  };

  #count(method: string, path: string, res: Response): void {
    const route = routeOf(path);
    this.requests.inc({ route, status: String(res.statusCode) });
    const decision = res.locals.bootDecision as string | undefined;
    if (decision) this.bootDecisions.inc({ decision: decisionLabel(decision) });
    if ((route === "images" || route === "ipxe") && method === "GET" && res.writableFinished) {
      const file = path.slice(path.lastIndexOf("/") + 1);
      const bytes = Number(res.getHeader("content-length"));
      if ((res.statusCode === 200 || res.statusCode === 206) && ARTIFACTS.has(file) && bytes > 0)
        this.artifactBytes.inc({ file }, bytes);
    }
  }
}
