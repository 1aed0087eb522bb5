// cacheDir/.staging/: where downloads land before they are verified and
// renamed into the cache. Each fetch gets its own folder named
// <pid>-<process nonce>-<random>, so a process starting up can tell what a
// crashed one left behind (its pid is gone, or it is our pid with another
// nonce: pid reuse, e.g. a container's pid 1) from what a live one (a
// `mirror sync` beside `serve` on the same cache) is still writing.
// Processes in other pid namespaces sharing one cache dir are not told
// apart: run one mirror per cache dir there.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Log } from "../log.ts";

export const STAGING = ".staging";
const NONCE = randomBytes(4).toString("hex");
const OURS = /^(\d+)-([0-9a-f]{8})-[0-9a-f]{12}$/;

/** A fresh private folder under cacheDir/.staging for one fetch; removed when `fn` settles. */
export async function withStaging<T>(
  cacheDir: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = join(cacheDir, STAGING, `${process.pid}-${NONCE}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether a staging entry named `name` belongs to a process that is still running. */
export function ownerAlive(name: string, isAlive: (pid: number) => boolean = pidAlive): boolean {
  const m = OURS.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  if (pid === process.pid) return m[2] === NONCE;
  return isAlive(pid);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, just not ours to signal
  }
}

/** Removes what crashed processes left in cacheDir/.staging; logs and returns the names removed. */
export async function cleanStaleStaging(cacheDir: string, log: Log): Promise<string[]> {
  const root = join(cacheDir, STAGING);
  const names = await readdir(root).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names.sort()) {
    if (ownerAlive(name)) continue;
    const bytes = await du(join(root, name));
    await rm(join(root, name), { recursive: true, force: true });
    removed.push(name);
    log.info(
      { staging: join(root, name), bytes },
      "mirror: removed stale staging of a crashed process",
    );
  }
  return removed;
}

async function du(path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isDirectory()) return st?.size ?? 0;
  let n = 0;
  for (const e of await readdir(path).catch(() => [] as string[])) n += await du(join(path, e));
  return n;
}
