// The admin API client the CLI uses. The server is the single writer of the
// state; the CLI only asks it (default http://127.0.0.1:8080).
// Without a token, a client on the server host finds it by itself: it sends
// a nonce, a loopback server answers 401 with its token file and a proof,
// and the token is read and sent only when the proof matches (so a process
// squatting another port cannot collect it; server/http/admin-guard.ts).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { lstatSync, readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { NONCE_HEADER, tokenProof } from "../http/admin-guard.ts";

export interface ClientOptions {
  server: string;
  token?: string;
}

interface TokenHint {
  tokenFile?: unknown;
  proof?: unknown;
}

const LOOPBACK_NAMES = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** The token the server pointed at, or why it cannot be used. */
export function hintedToken(
  hint: TokenHint,
  url: URL,
  nonce: string,
): { token: string } | { problem: string } {
  const file = hint.tokenFile;
  if (typeof file !== "string" || typeof hint.proof !== "string") return { problem: "" };
  if (!LOOPBACK_NAMES.test(url.hostname) || !isAbsolute(file)) return { problem: "" };
  let token: string;
  try {
    // A regular file of token size: never a device or a FIFO the server named.
    const st = lstatSync(file);
    if (!st.isFile() || st.size > 4096) return { problem: `; ${file} is not a token file` };
    token = readFileSync(file, "utf8").trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return {
      problem: `; this user cannot read ${file} (${code}): run as its owner or pass --admin-token`,
    };
  }
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const want = Buffer.from(tokenProof(token, nonce, port));
  const got = Buffer.from(hint.proof);
  if (want.length !== got.length || !timingSafeEqual(want, got))
    return { problem: `; the server at ${url.host} does not hold the token in ${file}` };
  return { token };
}

export class AdminClient {
  private token: string | undefined;
  private readonly nonce = randomBytes(16).toString("base64url");
  /** Why the token the server pointed at was not used (appended to a 401). */
  private hintProblem = "";

  constructor(private readonly opts: ClientOptions) {
    this.token = opts.token;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token
      ? { authorization: `Bearer ${this.token}`, ...extra }
      : { [NONCE_HEADER]: this.nonce, ...extra };
  }

  private url(path: string): string {
    return `${this.opts.server.replace(/\/+$/, "")}${path}`;
  }

  /** fetch, and once more with the token a 401 pointed at (see the top of the file). */
  private async send(
    url: string,
    init: { method: string; body?: string; extra?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Response> {
    const go = () =>
      fetch(url, {
        method: init.method,
        headers: this.headers(init.extra),
        body: init.body,
        signal: init.signal,
      });
    const res = await go();
    if (res.status !== 401 || this.token) return res;
    let hint: TokenHint = {};
    try {
      hint = (await res.clone().json()) as TokenHint;
    } catch {
      return res;
    }
    const found = hintedToken(hint, new URL(url), this.nonce);
    if ("problem" in found) {
      this.hintProblem = found.problem;
      return res;
    }
    this.token = found.token;
    return go();
  }

  async request(method: string, path: string, body?: unknown): Promise<Response> {
    const url = this.url(path);
    let res: Response;
    try {
      res = await this.send(url, {
        method,
        extra: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw unreachable(method, url, err);
    }
    if (!res.ok) throw await this.httpError(method, url, res);
    return res;
  }

  private async httpError(method: string, url: string, res: Response): Promise<AdminApiError> {
    const text = await res.text();
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON: keep the text
    }
    const extra = res.status === 401 ? this.hintProblem : "";
    return new AdminApiError(res.status, `${method} ${url}: HTTP ${res.status}: ${msg}${extra}`);
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  /**
   * Streams SSE `data:` payloads until `signal` aborts. A stream that ends or
   * breaks is reopened with Last-Event-ID (the server replays what came
   * after it), backing off up to `retry.maxMs` through refused connections
   * and 5xx answers; the first connection failing, any other HTTP error, or
   * `retry.giveUpMs` without a stream ends it with an error.
   */
  async *follow(path: string, opts: FollowOptions = {}): AsyncGenerator<unknown> {
    const retry = { ...DEFAULT_RETRY, ...opts.retry };
    const url = this.url(path);
    let lastId: string | undefined;
    let droppedAt: number | undefined;
    let wait = retry.firstMs;
    const backoff = async () => {
      await sleep(wait);
      wait = Math.min(wait * 2, retry.maxMs);
    };
    for (;;) {
      let res: Response;
      try {
        res = await this.send(url, {
          method: "GET",
          extra: { accept: "text/event-stream", ...(lastId ? { "last-event-id": lastId } : {}) },
          signal: opts.signal,
        });
      } catch (err) {
        if (opts.signal?.aborted) return;
        if (droppedAt === undefined || Date.now() - droppedAt > retry.giveUpMs)
          throw unreachable("GET", url, err);
        await backoff();
        continue;
      }
      // a proxy's 502/503 while the server restarts: keep trying like a refused connection
      const retrying = droppedAt !== undefined && Date.now() - droppedAt <= retry.giveUpMs;
      if (retrying && res.status >= 500) {
        await res.body?.cancel();
        await backoff();
        continue;
      }
      if (!res.ok || !res.body) throw await this.httpError("GET", url, res);
      droppedAt = undefined;
      wait = retry.firstMs;
      let why = "the server closed the stream";
      try {
        for await (const ev of sseEvents(res.body)) {
          if (ev.id !== undefined) lastId = ev.id;
          if (ev.data) yield JSON.parse(ev.data);
        }
      } catch (err) {
        if (opts.signal?.aborted) return;
        why = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      }
      droppedAt = Date.now();
      opts.onDrop?.(why, lastId);
    }
  }
}

export interface FollowOptions {
  signal?: AbortSignal;
  retry?: Partial<typeof DEFAULT_RETRY>;
  /** Told each time the stream is lost, with the id it will resume after. */
  onDrop?: (why: string, lastId: string | undefined) => void;
}

const DEFAULT_RETRY = { firstMs: 250, maxMs: 5000, giveUpMs: 60_000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A failed admin request: the HTTP status, or "unreachable" when no answer came. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number | "unreachable",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "AdminApiError";
  }
}

function unreachable(method: string, url: string, err: unknown): AdminApiError {
  const why = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
  return new AdminApiError(
    "unreachable",
    `${method} ${url}: ${why} (is \`automagic serve\` running? --server sets the URL)`,
    { cause: err },
  );
}

export interface SseEvent {
  id?: string;
  data: string;
}

/** One SSE block (the lines between blank lines) as its id and joined data. */
export function parseSseBlock(block: string): SseEvent {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    const m = /^([^:]*)(?::( ?)(.*))?$/.exec(line);
    if (!m || m[1] === "") continue; // a ":" comment (keep-alive)
    const value = m[3] ?? "";
    if (m[1] === "data") data.push(value);
    else if (m[1] === "id" && !value.includes("\0")) id = value;
  }
  return { ...(id === undefined ? {} : { id }), data: data.join("\n") };
}

/** The events of an SSE body, in order; ends when the body ends. */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of body) {
    buf = (buf + decoder.decode(chunk, { stream: true })).replace(/\r\n/g, "\n");
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      yield parseSseBlock(block);
    }
  }
}
