// random-macs: 100,000 GET /boot.ipxe?mac=<random> against `automagic serve`
// started from a config file (state on the real disk), 64 at a time. Every
// unknown MAC is an observation (a discovered row, a trace row); issue #14
// found each one cost a synchronous fsync'd transaction and the tables grew
// without bound. Measured: the state database's size on disk before and
// after, its discovered and trace rows, serve's memory, and the event
// loop's delay as a client sees it: a probe request every 50 ms during the
// flood (GET /boot.ipxe, no MAC: no disk, only the loop), p50/p99/max.
// Verdict ok: every request answered, rows under the caps
// (server/state/observations.ts), database under 64 MiB, probe p99 < 1 s.
//   npx tsx test/chaos/random-macs.chaos.ts   (or: bash test/chaos/run.sh random-macs)
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import Database from "better-sqlite3";
import { row } from "./row.ts";
import { freePort, makeWorld, startServe } from "../integration/control/serve-process.ts";
import { DISCOVERED_MAX, TRACE_MAX } from "../../server/state/observations.ts";

const COUNT = Number(process.env.COUNT ?? 100_000);
const CONCURRENCY = 64;

function get(agent: Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

const randomMac = () =>
  [
    "02",
    ...Array.from({ length: 5 }, () =>
      Math.floor(Math.random() * 256)
        .toString(16)
        .padStart(2, "0"),
    ),
  ].join(":");
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

function dbBytes(stateDir: string): number {
  let n = 0;
  for (const f of ["automagic.sqlite", "automagic.sqlite-wal", "automagic.sqlite-shm"]) {
    try {
      n += statSync(join(stateDir, f)).size;
    } catch {
      // absent
    }
  }
  return n;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function main(): Promise<void> {
  const world = makeWorld();
  const port = await freePort();
  const cfg = join(world.dir, "serve.yaml");
  writeFileSync(cfg, `listen: 127.0.0.1\nhttp: { port: ${port} }\ntftp: { enabled: false }\n`);
  const srv = await startServe(world, ["--config", cfg]);
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY + 1 });
    await get(agent, port, "/boot.ipxe");
    const before = dbBytes(world.stateDir);
    const rssBefore = rssOf(srv.proc.pid!);

    let flooding = true;
    const probes: number[] = [];
    const probe = (async () => {
      while (flooding) {
        const t0 = performance.now();
        await get(agent, port, "/boot.ipxe");
        probes.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let sent = 0;
    let ok = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < COUNT) {
          sent += 1;
          if ((await get(agent, port, `/boot.ipxe?mac=${randomMac()}`)) === 200) ok += 1;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    flooding = false;
    await probe;
    const rssAfter = rssOf(srv.proc.pid!);
    await new Promise((r) => setTimeout(r, 1500)); // the last observation flush
    const after = dbBytes(world.stateDir);
    const db = new Database(join(world.stateDir, "automagic.sqlite"), { readonly: true });
    const rows = (t: string) =>
      (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
    const discovered = rows("discovered");
    const trace = rows("trace");
    db.close();
    agent.destroy();
    row(
      "random-macs",
      `${COUNT.toLocaleString("en")} GET /boot.ipxe?mac=<random> (${CONCURRENCY} at a time) to automagic serve, state on disk`,
      `${ok.toLocaleString("en")} answered in ${seconds.toFixed(0)} s (${(ok / seconds).toFixed(0)}/s); ` +
        `database ${mib(before)} -> ${mib(after)}; rows: discovered ${discovered} (cap ${DISCOVERED_MAX}), trace ${trace} (cap ${TRACE_MAX}); ` +
        `serve RSS ${mib(rssBefore)} -> ${mib(rssAfter)}; event-loop probe p50 ${pct(probes, 50).toFixed(1)} ms, ` +
        `p99 ${pct(probes, 99).toFixed(1)} ms, max ${Math.max(...probes).toFixed(1)} ms (${probes.length} probes)`,
      ok === COUNT &&
        discovered <= DISCOVERED_MAX &&
        trace <= TRACE_MAX &&
        after < 64 * 1048576 &&
        pct(probes, 99) < 1000,
    );
  } finally {
    await srv.stop();
    world.close();
  }
}

await main();
