// prepare (deploy): the captured system image the run's action names, into
// the staging area, hashed on the way; it must match the sha256 the server
// committed at capture, or nothing is paved.
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Handler } from "../run/executor.ts";
import { Sha256Tap } from "../../shared/hash.ts";
import { openStaging } from "./fetch.ts";
import { readOnlyOptions } from "../probe/index.ts";
import { mountedAt } from "../probe/ab.ts";
import type { ProbedSystem } from "../probe/types.ts";
import { archiveOf, hashArchive, HOME_SYSIMGS } from "../sysimg/home.ts";

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
  if (a.home) {
    const bad = await useHomeCopy(a, a.home, ctx);
    if (!bad) return;
    if (!a.server)
      throw new Error(`${bad}; the server has no copy of ${a.image}: nothing was paved`);
    ctx.log(`${bad}; fetching the server's copy instead`);
  }
  if (!a.server) throw new Error(`system image ${a.image}: in neither store`);
  await fetchFromServer(a, a.server.sha256, ctx);
};

/**
 * The copy on the machine's own /home, mounted read-only (no journal
 * replay) until it is extracted; its sha256 must equal its record's (and
 * the server's, when the server has the same image). Returns why it cannot
 * be used, after unmounting; undefined when it is staged.
 */
async function useHomeCopy(
  a: Parameters<Handler<"fetch-sysimg">>[0],
  home: NonNullable<Parameters<Handler<"fetch-sysimg">>[0]["home"]>,
  ctx: Parameters<Handler<"fetch-sysimg">>[1],
): Promise<string | undefined> {
  // A live run (layout ab, from the running slot) has /home mounted read-write
  // already, and a second, read-only mount of it would be refused (EBUSY):
  // the image is read where the running system has it. Nothing is written.
  const live = liveMount(ctx.probe, home.device);
  const dir = live ?? `${a.staging.dir.replace(/\/+$/, "")}-sysimg-home`;
  let mounted = false;
  if (!live) {
    await mkdir(dir, { recursive: true });
    await ctx.runner.run(["mount", "-o", readOnlyOptions(home.fstype), home.device, dir]);
    mounted = true;
  }
  const cleanup = async () => {
    if (mounted) await ctx.runner.run(["umount", dir]);
    mounted = false;
  };
  const file = archiveOf(path.join(dir, HOME_SYSIMGS), a.image);
  try {
    const got = await hashArchive(file, (n) => ctx.reporter.progress(ctx.step, n, home.bytes));
    const want = [home.sha256, a.server?.sha256].filter((x): x is string => !!x);
    const wrong = want.find((w) => w !== got.sha256);
    if (wrong) {
      await cleanup();
      return `the copy of ${a.image} on ${home.device} is corrupted: sha256 ${got.sha256}, captured as ${wrong}`;
    }
    ctx.log(
      `system image ${a.image} on ${home.device}: ${got.bytes} bytes, sha256 ${got.sha256} ok`,
    );
    ctx.staged = { stage3: file, stage3Bytes: got.bytes, snapshot: "", dir, cleanup };
    return undefined;
  } catch (err) {
    await cleanup();
    return `the copy of ${a.image} on ${home.device} cannot be read: ${(err as Error).message}`;
  }
}

async function fetchFromServer(
  a: Parameters<Handler<"fetch-sysimg">>[0],
  want: string,
  ctx: Parameters<Handler<"fetch-sysimg">>[1],
): Promise<void> {
  if (!ctx.server || !ctx.token) throw new Error("deploy needs the server and the run token");
  const url = `${ctx.server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(ctx.token)}/sysimg?name=${encodeURIComponent(a.image)}`;
  const res = await getWithRetry(ctx.fetch, url);
  if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  const sent = res.headers.get("x-automagic-sha256") ?? "";
  if (sent !== want)
    throw new Error(
      `GET ${url}: the server sends sha256 ${sent || "(none)"}, its list said ${want}`,
    );
  const total = Number(res.headers.get("content-length") ?? 0) || undefined;
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
}

/** Where the running system has `device` mounted (a disk or a partition), if it does. */
function liveMount(probe: ProbedSystem, device: string): string | undefined {
  for (const d of probe.disks) {
    if (d.path === device) return mountedAt(d);
    const p = d.partitions.find((x) => x.path === device);
    if (p) return mountedAt(p);
  }
  return undefined;
}
