// HTTP artifacts: automagic serve vs nginx (sendfile) serving the same
// initrd over loopback in the same run. N concurrent clients each fetch the
// whole file; we report aggregate throughput, the ratio to nginx, and the
// server's RSS (sampled from /proc) to show no per-client file buffering.
//   BENCH_CLIENTS (default 200), BENCH_MIB (default 200), BENCH_ROUNDS (default 2)
// nginx runs twice per round: 1 worker (one event loop, like node) and
// `worker_processes auto` (its default deployment); the ratio is taken
// against the better of the two. Rounds alternate the order to spread the
// noise of a shared machine; each figure is the best of its rounds.
import { execa } from "execa";
import { createHash } from "node:crypto";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { artifactPath } from "../../server/http/images.ts";
import { nginxArgs } from "../lib/nginx.ts";
import { treeRss } from "../lib/rss.ts";
import { requireTool } from "../lib/tools.ts";
import { sha256File } from "../../shared/hash.ts";

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
const MIB = Number(process.env.BENCH_MIB ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const REPO = resolve(import.meta.dirname, "../..");

/** One raw HTTP/1.1 GET, body discarded; resolves with the bytes received. */
function fetchDiscard(port: number, path: string): Promise<number> {
  return new Promise((res, rej) => {
    let n = 0;
    const s = connect(port, "127.0.0.1", () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    s.on("data", (c) => (n += c.length));
    s.on("error", rej);
    s.on("close", () => res(n));
  });
}

async function measure(name: string, port: number, path: string, pid: number) {
  const size = MIB * 1024 * 1024;
  const before = treeRss(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, treeRss(pid))), 100);
  const t0 = process.hrtime.bigint();
  const got = await Promise.all(Array.from({ length: CLIENTS }, () => fetchDiscard(port, path)));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(sampler);
  const bodies = got.filter((n) => n >= size).length;
  if (bodies !== CLIENTS)
    throw new Error(`${name}: only ${bodies}/${CLIENTS} clients got the whole file`);
  const total = got.reduce((a, b) => a + b, 0);
  const mibs = total / secs / 1024 / 1024;
  const r = { name, secs, mibs, rssBefore: before, rssPeak: peak };
  console.log(
    `${name.padEnd(10)} ${CLIENTS} x ${MIB} MiB in ${secs.toFixed(1)} s = ${mibs.toFixed(0)} MiB/s; ` +
      `server RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`,
  );
  return r;
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, "127.0.0.1", () => (s.destroy(), r(true)));
      s.on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on 127.0.0.1:${port}`);
}

async function main() {
  requireTool("nginx");
  const dir = mkdtempSync(join(tmpdir(), "am-ctl-bench-"));
  try {
    // the artifact: MIB of incompressible-ish bytes
    mkdirSync(join(dir, "images/b1"), { recursive: true });
    const initrd = join(dir, "images/b1/initrd.img");
    const fd = openSync(initrd, "w");
    const block = createHash("sha512").update("seed").digest();
    const chunk = Buffer.alloc(1 << 20);
    for (let o = 0; o < chunk.length; o += block.length) block.copy(chunk, o);
    for (let i = 0; i < MIB; i++) {
      chunk.writeUInt32LE(i, 0);
      writeSync(fd, chunk);
    }
    closeSync(fd);
    writeFileSync(join(dir, "images/b1/vmlinuz"), "k");
    symlinkSync("b1", join(dir, "images/current"));
    const path = artifactPath("b1", "initrd.img", await sha256File(initrd));

    // automagic serve (HTTP only)
    cpSync(join(REPO, "hosts"), join(dir, "hosts"), { recursive: true });
    const amPort = 18000 + (process.pid % 1000);
    const am = execa(
      join(REPO, "bin/automagic"),
      [
        "serve",
        "--http-port",
        String(amPort),
        "--no-tftp",
        "--hosts",
        join(dir, "hosts"),
        "--state",
        join(dir, "state"),
        "--images",
        join(dir, "images"),
        "--log-level",
        "warn",
      ],
      // dir as the root: no /etc/automagic/serve.yaml of this machine's is read
      { reject: false, env: { AUTOMAGIC_ROOT: dir } },
    );
    // nginx with its own config on a loopback port, never the system service
    const ngPorts = [amPort + 1, amPort + 2];
    mkdirSync(join(dir, "www", path.split("/").slice(1, -1).join("/")), { recursive: true });
    symlinkSync(initrd, join(dir, "www", path.slice(1)));
    const nginx = (workers: string, port: number) =>
      execa(
        "nginx",
        nginxArgs({ dir, listen: `127.0.0.1:${port}`, root: join(dir, "www"), workers }),
        { reject: false },
      );
    const ng1 = nginx("1", ngPorts[0]!);
    const ngAuto = nginx("auto", ngPorts[1]!);
    try {
      await Promise.all([waitPort(amPort), ...ngPorts.map(waitPort)]);
      // warm-up: page cache and automagic's hash cache
      for (const p of [amPort, ...ngPorts]) await fetchDiscard(p, path);
      console.log(
        `http bench: ${CLIENTS} concurrent clients x ${MIB} MiB over loopback, ${ROUNDS} rounds; nginx sendfile on`,
      );
      const best = new Map<string, Awaited<ReturnType<typeof measure>>>();
      const runs: Array<[string, number, number]> = [
        ["nginx-1w", ngPorts[0]!, ng1.pid!],
        ["nginx-auto", ngPorts[1]!, ngAuto.pid!],
        ["automagic", amPort, am.pid!],
      ];
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? runs : [...runs].reverse();
        for (const [name, port, pid] of order) {
          const r = await measure(name, port, path, pid);
          const prev = best.get(name);
          if (!prev || r.mibs > prev.mibs)
            best.set(name, { ...r, rssPeak: Math.max(r.rssPeak, prev?.rssPeak ?? 0) });
        }
      }
      const a = best.get("automagic")!;
      const n = [best.get("nginx-1w")!, best.get("nginx-auto")!].sort(
        (x, y) => y.mibs - x.mibs,
      )[0]!;
      console.log(
        `best: nginx-1w ${best.get("nginx-1w")!.mibs.toFixed(0)} MiB/s, nginx-auto ${best.get("nginx-auto")!.mibs.toFixed(0)} MiB/s, automagic ${a.mibs.toFixed(0)} MiB/s`,
      );
      console.log(
        `ratio automagic/${n.name} = ${(a.mibs / n.mibs).toFixed(2)} (goal >= 0.9); ` +
          `automagic RSS ${a.rssBefore.toFixed(0)} MiB idle, peak ${a.rssPeak.toFixed(0)} MiB with ${CLIENTS} clients`,
      );
    } finally {
      am.kill("SIGTERM");
      ng1.kill("SIGQUIT");
      ngAuto.kill("SIGQUIT");
      await Promise.all([am, ng1, ngAuto]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
