// prepare (deploy): the captured system image the run's action names, into
// the staging area, hashed on the way; it must match the sha256 the server
// committed at capture, or nothing is paved.
import { createWriteStream } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Handler } from "../run/executor.ts";
import { Sha256Tap } from "../../shared/hash.ts";
import { openStaging } from "./fetch.ts";

/** A GET that met a pooled connection closing under it is simply asked again. */
async function getWithRetry(f: typeof fetch, url: string, tries = 3): Promise<Response> {
  for (let i = 1; ; i++) {
    try {
      return await f(url);
    } catch (err) {
      if (i >= tries) throw new Error(`GET ${url}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}

export const fetchSysimg: Handler<"fetch-sysimg"> = async (a, ctx) => {
  if (!ctx.server || !ctx.token) throw new Error("deploy needs the server and the run token");
  const url = `${ctx.server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(ctx.token)}/sysimg`;
  const res = await getWithRetry(ctx.fetch, url);
  if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  const want = res.headers.get("x-automagic-sha256") ?? "";
  const total = Number(res.headers.get("content-length") ?? 0) || undefined;
  if (!/^[0-9a-f]{64}$/.test(want)) throw new Error(`GET ${url}: no X-Automagic-Sha256 header`);
  const { dir, cleanup } = await openStaging(a.staging, ctx);
  const file = path.join(dir, `${a.image}.tar.zst`);
  const tap = new Sha256Tap((bytes) => ctx.reporter.progress(ctx.step, bytes, total));
  try {
    await pipeline(Readable.fromWeb(res.body as never), tap, createWriteStream(file));
    const got = tap.sha256();
    if (got !== want)
      throw new Error(`system image ${a.image}: sha256 ${got}, the server committed ${want}`);
  } catch (err) {
    await cleanup();
    throw err;
  }
  ctx.log(`system image ${a.image}: ${tap.bytes} bytes, sha256 ${want} ok`);
  ctx.staged = { stage3: file, stage3Bytes: tap.bytes, snapshot: "", dir, cleanup };
};
