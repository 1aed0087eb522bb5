// Request deadlines. Node's server.requestTimeout bounds every request alike
// (300 s by default), which cut off any capture upload slower than five
// minutes. So the server runs with it off: headersTimeout still stops a
// client that trickles its headers, and each request gets a deadline here
// instead. Its whole body must arrive within requestMs, unless its route
// calls uploadDeadline(): then it may take as long as bytes keep coming, and
// is cut after idleMs without one (a client that vanished, a dead link).
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Log } from "../log.ts";

export interface Deadlines {
  /** A request's body must have arrived this long after its headers (http.requestTimeout). */
  requestMs: number;
  /** An upload route's body may pause this long between bytes (sysimgs.idleTimeout). */
  uploadIdleMs: number;
}

interface Armed {
  timer: NodeJS.Timeout;
  res: ServerResponse;
  d: Deadlines;
  log: Log;
}

const armed = new WeakMap<IncomingMessage, Armed>();

const seconds = (ms: number) => `${ms / 1000} s`;

/** As Node's own requestTimeout does: a 408 if nothing was answered yet, then the connection closes. */
function cut(req: IncomingMessage, res: ServerResponse, why: string, log: Log): void {
  // A run token in the path is a credential: not logged.
  const path = req.url?.replace(/(\/run\/)[^/?]+/, "$1<token>");
  log.warn({ method: req.method, path, ip: req.socket.remoteAddress }, `http: cut off: ${why}`);
  const s = req.socket;
  if (!res.headersSent && s.writable) {
    const body = JSON.stringify({ error: why });
    s.write(
      "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  s.destroy();
}

function arm(req: IncomingMessage, res: ServerResponse, d: Deadlines, log: Log): void {
  const timer = setTimeout(() => {
    if (!req.complete)
      cut(req, res, `request body not complete after ${seconds(d.requestMs)}`, log);
  }, d.requestMs);
  timer.unref();
  const disarm = () => clearTimeout(timer);
  req.once("end", disarm);
  res.once("close", disarm);
  armed.set(req, { timer, res, d, log });
}

/**
 * For a route that takes a long streamed body: no total deadline, but cut
 * after idleMs without a byte. A no-op on a server not made by httpServer
 * (tests that listen with the bare app).
 */
export function uploadDeadline(req: IncomingMessage): void {
  const a = armed.get(req);
  if (!a) return;
  clearTimeout(a.timer);
  req.setTimeout(a.d.uploadIdleMs, () =>
    cut(req, a.res, `upload idle for ${seconds(a.d.uploadIdleMs)}`, a.log),
  );
  // Once the body is in, the socket's idle timer must not cut the answer.
  req.once("end", () => req.socket.setTimeout(0));
}

/**
 * The HTTP server for `app` with per-request deadlines. Node closes an idle
 * keep-alive connection after 5 s; a client that picks that pooled
 * connection just then gets "other side closed", which a request with a
 * streamed body (a capture upload) cannot retry. Payloads pause longer than
 * that between requests (mount, probe), so idle connections live 65 s.
 */
export function httpServer(app: RequestListener, d: Deadlines, log: Log): Server {
  const s = createServer((req, res) => {
    arm(req, res, d, log);
    app(req, res);
  });
  s.requestTimeout = 0;
  s.keepAliveTimeout = 65_000;
  s.headersTimeout = 66_000;
  return s;
}
