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
      const why = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new Error(
        `${method} ${url}: ${why} (is \`automagic serve\` running? --server sets the URL)`,
        {
          cause: err,
        },
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let msg = text;
      try {
        msg = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON: keep the text
      }
      const extra = res.status === 401 ? this.hintProblem : "";
      throw new Error(`${method} ${url}: HTTP ${res.status}: ${msg}${extra}`);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  /** Streams SSE `data:` payloads until the server closes or `signal` aborts. */
  async *follow(path: string, signal?: AbortSignal): AsyncGenerator<unknown> {
    const res = await this.send(this.url(path), {
      method: "GET",
      extra: { accept: "text/event-stream" },
      signal,
    });
    if (!res.ok || !res.body)
      throw new Error(`GET ${path}: HTTP ${res.status}: ${await res.text()}`);
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6))
          .join("\n");
        if (data) yield JSON.parse(data);
      }
    }
  }
}
