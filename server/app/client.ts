// The admin API client the CLI uses. The server is the single writer of the
// state; the CLI only asks it (default http://127.0.0.1:8080).
export interface ClientOptions {
  server: string;
  token?: string;
}

export class AdminClient {
  constructor(private readonly opts: ClientOptions) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.opts.token ? { authorization: `Bearer ${this.opts.token}`, ...extra } : extra;
  }

  async request(method: string, path: string, body?: unknown): Promise<Response> {
    const url = `${this.opts.server.replace(/\/+$/, "")}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: this.headers(body === undefined ? {} : { "content-type": "application/json" }),
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
      throw new Error(`${method} ${url}: HTTP ${res.status}: ${msg}`);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  /** Streams SSE `data:` payloads until the server closes or `signal` aborts. */
  async *follow(path: string, signal?: AbortSignal): AsyncGenerator<unknown> {
    const res = await fetch(`${this.opts.server.replace(/\/+$/, "")}${path}`, {
      headers: this.headers({ accept: "text/event-stream" }),
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
