// Processes the install left running inside its target (getuto's and emerge's
// gpg-agent, dirmngr, keyboxd): they keep the new root busy, so `umount`
// fails and, after a failed run, the next mkfs on that partition is refused.
// They are stopped (TERM, then KILL) before the target is unmounted.
import { readFile, readdir, readlink } from "node:fs/promises";
import path from "node:path";

export interface ProcessPlace {
  pid: number;
  /** /proc/<pid>/root and /proc/<pid>/cwd, as the kernel shows them. */
  root: string;
  cwd: string;
}

/** Pure: the pids whose root or working directory is `target` or below it. */
export function rootedIn(procs: ProcessPlace[], target: string, self = process.pid): number[] {
  const t = path.resolve(target);
  // Never the RAM system itself: every process lives under "/".
  if (t === "/") return [];
  const inside = (p: string) => p === t || p.startsWith(`${t}/`);
  return procs.filter((p) => p.pid !== self && (inside(p.root) || inside(p.cwd))).map((p) => p.pid);
}

async function places(): Promise<ProcessPlace[]> {
  const out: ProcessPlace[] = [];
  for (const name of await readdir("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      const [root, cwd] = await Promise.all([
        readlink(`/proc/${pid}/root`),
        readlink(`/proc/${pid}/cwd`),
      ]);
      out.push({ pid, root, cwd });
    } catch {
      // Gone meanwhile, or a kernel thread.
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Stops every process rooted in or working under `target`; returns "name[pid]" of each. */
export async function stopLeftovers(target: string, graceMs = 3000): Promise<string[]> {
  const pids = rootedIn(await places(), target);
  if (pids.length === 0) return [];
  const names = await Promise.all(
    pids.map(async (pid) => {
      const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?");
      return `${comm.trim()}[${pid}]`;
    }),
  );
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  let alive = pids;
  while (alive.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    alive = rootedIn(await places(), target).filter((p) => pids.includes(p));
  }
  for (const pid of alive) signal(pid, "SIGKILL");
  return names;
}
