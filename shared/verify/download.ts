// HTTP download to a file that survives dropped connections: bytes already
// on disk (`<dest>.part`) are kept and the rest is asked for with Range.
// Digests are computed on the way in, so the caller never re-reads the file.
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { DigestTap, type FileDigests } from "./hash.ts";
import type { ByteTee } from "./tee.ts";

export class HttpError extends Error {
  readonly url: string;
  readonly status: number;
  constructor(url: string, status: number, statusText: string) {
    super(`GET ${url}: HTTP ${status} ${statusText}`);
    this.name = "HttpError";
    this.url = url;
    this.status = status;
  }
}

export interface DownloadOptions {
  /** Attempts after the first one; each resumes from what is on disk. Default 5. */
  retries?: number;
  /** First retry delay, doubled each time. Default 500 ms. */
  retryDelayMs?: number;
  /** Refuse the file unless it has exactly this many bytes (from the pointer file). */
  expectedSize?: number;
  /** Stop as soon as the file grows beyond this (a hostile or broken server). */
  maxBytes?: number;
  onProgress?: (done: number, total: number | undefined) => void;
  signal?: AbortSignal;
  /** Also hands every byte, in file order, to this consumer (see tee.ts). */
  tee?: ByteTee;
  /** Sent with every request (the run token to our own mirror: server/mirror/gate.ts). */
  headers?: Record<string, string>;
}

/** Downloads `url` to `dest` (atomically: `<dest>.part`, then rename) and returns its digests. */
export async function downloadFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<FileDigests> {
  const retries = opts.retries ?? 5;
  const part = `${dest}.part`;
  let lastErr: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0)
      await sleep((opts.retryDelayMs ?? 500) * 2 ** (attempt - 1), undefined, {
        signal: opts.signal,
      });
    try {
      const d = await attemptOnce(url, part, opts);
      if (opts.expectedSize !== undefined && d.bytes !== opts.expectedSize) {
        await rm(part, { force: true });
        throw new Error(`GET ${url}: got ${d.bytes} bytes, expected ${opts.expectedSize}`);
      }
      await rename(part, dest);
      return d;
    } catch (err) {
      lastErr = err;
      // 4xx other than 408/429 will not get better by asking again.
      if (
        err instanceof HttpError &&
        err.status >= 400 &&
        err.status < 500 &&
        err.status !== 408 &&
        err.status !== 429
      )
        break;
      if (opts.signal?.aborted) break;
      if (err instanceof Error && /expected \d+$/.test(err.message)) break;
    }
  }
  throw lastErr instanceof Error ? lastErr : new Error(`GET ${url}: failed`, { cause: lastErr });
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function attemptOnce(url: string, part: string, opts: DownloadOptions): Promise<FileDigests> {
  let have = await sizeOf(part);
  if (opts.expectedSize !== undefined && have > opts.expectedSize) {
    await rm(part, { force: true });
    have = 0;
  }
  const headers: Record<string, string> = { ...opts.headers };
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await fetch(url, { headers, signal: opts.signal ?? null });
  if (res.status === 416 && have > 0 && have === opts.expectedSize) {
    await res.body?.cancel();
    return seededTap(part, have).then((t) => t.digests());
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    if (res.status === 416) await rm(part, { force: true }); // our part is stale; start over next time
    throw new HttpError(url, res.status, res.statusText);
  }
  let append = false;
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
    if (!start || Number(start[1]) !== have) {
      await res.body?.cancel();
      await rm(part, { force: true });
      throw new Error(
        `GET ${url}: Content-Range ${res.headers.get("content-range")} does not continue at byte ${have}`,
      );
    }
    append = true;
  } else {
    have = 0; // the server ignored Range: take the whole body again
  }
  const len = Number(res.headers.get("content-length"));
  const total =
    Number.isFinite(len) && res.headers.get("content-length") !== null
      ? have + len
      : opts.expectedSize;
  const tap = append ? await seededTap(part, have) : new DigestTap();
  let done = have;
  const limit = opts.maxBytes ?? opts.expectedSize;
  tap.on("data", (c: Buffer) => {
    done += c.length;
    if (limit !== undefined && done > limit)
      tap.destroy(new Error(`GET ${url}: more than ${limit} bytes`));
    opts.onProgress?.(done, total);
  });
  if (!res.body) throw new Error(`GET ${url}: empty response body`);
  let pos = have;
  const tee = opts.tee;
  const teeStage = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!tee) return cb(null, chunk);
      const at = pos;
      pos += chunk.length;
      tee.feed(at, chunk).then(() => cb(null, chunk), cb);
    },
  });
  await pipeline(
    Readable.fromWeb(res.body as WebReadableStream),
    tap,
    teeStage,
    createWriteStream(part, { flags: append ? "a" : "w" }),
  );
  return tap.digests();
}

/** A DigestTap that has already hashed the first `bytes` of `path`. */
async function seededTap(path: string, bytes: number): Promise<DigestTap> {
  const tap = new DigestTap();
  if (bytes === 0) return tap;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 }))
    tap.seed(chunk as Buffer);
  return tap;
}
