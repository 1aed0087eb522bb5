// The server side for the installer tests, on loopback: the REAL mirror
// router (server/mirror) over a fixture-mirror directory (stage3, snapshot
// and the signed binhost), plus the run endpoints the payload calls,
// recording what it sent. (A stand-in for the run API only; the mirror is
// the real verifying one.)
import express from "express";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createMirrorRouter } from "../../../server/mirror/index.ts";
import { eventBatchSchema, type RunEvent } from "../../../payload/spec/events.ts";

export interface TestServer {
  url: string;
  /** `${url}/mirror/`: what the server puts in a spec as stage3.mirror. */
  mirrorUrl: string;
  /** What GET .../spec answers (with the phase-1 token, and the phase-2 one after rotation). */
  spec: unknown;
  events: RunEvent[];
  phase2Token: string;
  close(): Promise<void>;
}

export async function startServer(o: {
  upstream: string;
  cacheDir: string;
  keysDir: string;
  fpr: string;
  token: string;
}): Promise<TestServer> {
  const app = express();
  const events: RunEvent[] = [];
  const phase2Token = "phase2-token-0123456789";
  app.use(
    "/mirror",
    createMirrorRouter({
      upstream: o.upstream,
      cacheDir: o.cacheDir,
      trustedKeys: [o.fpr],
      keysDir: o.keysDir,
    }),
  );
  // As the real server: rotation revokes the phase-1 token, and phase-1
  // events that come after it travel under the phase-2 token.
  let rotated = false;
  const live = (t: string) => (t === o.token && !rotated) || (t === phase2Token && rotated);
  app.get("/api/v1/run/:token/spec", (q, r) => {
    if (!live(String(q.params.token))) return void r.status(401).json({ error: "revoked" });
    r.json(srv.spec);
  });
  app.post("/api/v1/run/:token/events", express.json({ limit: "10mb" }), (q, r) => {
    if (!live(String(q.params.token))) return void r.status(401).json({ error: "revoked" });
    events.push(...eventBatchSchema.parse(q.body).events);
    r.json({ ok: true });
  });
  app.post(`/api/v1/run/${o.token}/phase2`, (_q, r) => {
    if (rotated) return void r.status(401).json({ error: "revoked" });
    rotated = true;
    r.json({ token: phase2Token });
  });
  const server: Server = await new Promise((res) => {
    const s = app.listen(0, "127.0.0.1", () => res(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const srv: TestServer = {
    url,
    mirrorUrl: `${url}/mirror/`,
    spec: null,
    events,
    phase2Token,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return srv;
}
