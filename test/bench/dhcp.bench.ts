// DHCP 4-way exchanges per second at under 1% drops, measured with perfdhcp
// (Debian kea-admin) against our server, Kea 2.2 (kea-dhcp4, memfile with
// persist) and dnsmasq, in one run on one machine. Each server sits in its
// own namespace pair; rates step up interleaved (ours, Kea, dnsmasq at each
// rate) so machine noise hits all three alike, and every server runs every
// rate until all have failed two in a row. perfdhcp sends as a relay
// agent (from port 67, giaddr = its own address), so relay handling is what
// this measures. Our leases are persisted (fdatasync'ed journal) on the
// repo's disk, not tmpfs.
//
//   npx tsx test/bench/dhcp.bench.ts            (PERIOD=10 s per step)
//   PERIOD=3 RATES=1000,2000,4000 npx tsx test/bench/dhcp.bench.ts   (quick look)
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { createTestNet, type TestNet } from "../lib/netns.ts";
import { startDnsmasq } from "../lib/dnsmasq.ts";
import { requireTool } from "../lib/tools.ts";
import { waitFor } from "../lib/wait.ts";
import { baseConfig, startServerIn, type ServerProc } from "../integration/dhcp/server-proc.ts";

const PERIOD = Number(process.env.PERIOD ?? 10);
// Up to 20,000/s: on a quiet machine ours and Kea both passed 14,000/s, the
// old top step, so that run could not rank them (docs/PERFORMANCE.md).
const RATES = (process.env.RATES ?? "1000,2000,4000,6000,8000,10000,12000,14000,16000,18000,20000")
  .split(",")
  .map(Number);
const MAX_DROP_PCT = 1;
const root = join(import.meta.dirname, "../..");
const work = join(root, "var/bench/dhcp");

interface Step {
  rate: number;
  achieved: number;
  dropsOffer: number;
  dropsAck: number;
}

interface Peer {
  name: string;
  net: TestNet;
  stop(): Promise<void>;
  steps: Step[];
  failures: number;
}

function parsePerfdhcp(out: string): Omit<Step, "rate"> {
  const achieved = Number(/Rate: ([\d.]+) 4-way/.exec(out)?.[1] ?? 0);
  const drops = [...out.matchAll(/drops ratio: ([\d.]+|-?nan) %/g)].map((m) =>
    m[1]!.includes("nan") ? 100 : Number(m[1]),
  );
  return { achieved, dropsOffer: drops[0] ?? 100, dropsAck: drops[1] ?? 100 };
}

async function pairFor(name: string): Promise<TestNet> {
  const net = await createTestNet(`am-dhcp-b${name}`);
  await net.inClient("ip", ["addr", "add", "10.77.0.2/24", "dev", "cli0"]);
  return net;
}

/** An empty folder under var/bench/dhcp for one server's config, leases and logs. */
function freshDir(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A peer whose server is a process in its namespace, stopped with SIGTERM. */
function processPeer(name: string, net: TestNet, proc: ResultPromise): Peer {
  return {
    name,
    net,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc;
    },
    steps: [],
    failures: 0,
  };
}

async function ours(leaseSync: "fsync" | "write"): Promise<Peer> {
  const net = await pairFor(leaseSync === "fsync" ? "o" : "w");
  const dir = freshDir(`ours-${leaseSync}`);
  const srv: ServerProc = await startServerIn(
    net.server,
    baseConfig(dir, { quietTrace: true, force: true, leaseSync }),
    dir,
  );
  return { name: `am-${leaseSync}`, net, stop: () => srv.stop(), steps: [], failures: 0 };
}

async function kea(): Promise<Peer> {
  requireTool("kea-dhcp4");
  const net = await pairFor("k");
  const dir = freshDir("kea");
  const cfg = {
    Dhcp4: {
      "interfaces-config": { interfaces: ["srv0"] },
      "lease-database": {
        type: "memfile",
        persist: true,
        name: join(dir, "leases4.csv"),
        "lfc-interval": 0,
      },
      "valid-lifetime": 3600,
      subnet4: [
        {
          id: 1,
          subnet: "10.77.0.0/24",
          pools: [{ pool: "10.77.0.100 - 10.77.0.199" }],
          "option-data": [{ name: "routers", data: "10.77.0.1" }],
        },
      ],
      loggers: [
        { name: "kea-dhcp4", output_options: [{ output: join(dir, "kea.log") }], severity: "WARN" },
      ],
    },
  };
  writeFileSync(join(dir, "kea.json"), JSON.stringify(cfg));
  const proc: ResultPromise = net.inServer("kea-dhcp4", ["-c", join(dir, "kea.json")], {
    reject: false,
    env: { KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir },
  });
  // Kea logs nothing at WARN once it serves: ready is its socket on port 67.
  await waitFor(
    "kea-dhcp4 listening on :67",
    async () => {
      if (proc.exitCode !== null)
        throw new Error(`kea-dhcp4 exited: ${String((await proc).stderr)}`);
      const ss = await net.inServer("ss", ["-Hlun", "sport = :67"], { reject: false });
      return String(ss.stdout).includes(":67");
    },
    { everyMs: 100 },
  );
  return processPeer("kea", net, proc);
}

async function dnsmasq(): Promise<Peer> {
  requireTool("dnsmasq");
  const net = await pairFor("d");
  const dir = freshDir("dnsmasq");
  const d = await startDnsmasq(net.inServer, {
    iface: "srv0",
    range: "10.77.0.100,10.77.0.199,1h",
    leaseFile: join(dir, "leases"),
    authoritative: true,
  });
  return processPeer("dnsmasq", net, d.proc);
}

async function step(p: Peer, rate: number): Promise<Step> {
  const r = await p.net.inClient(
    "perfdhcp",
    ["-4", "-l", "cli0", "-r", String(rate), "-p", String(PERIOD)],
    { reject: false, timeout: (PERIOD + 30) * 1000 },
  );
  return { rate, ...parsePerfdhcp(String(r.stdout)) };
}

const passed = (s: Step) => s.dropsOffer < MAX_DROP_PCT && s.dropsAck < MAX_DROP_PCT;

const best = (p: Peer) => Math.max(0, ...p.steps.filter(passed).map((s) => s.achieved));

async function main(): Promise<void> {
  requireTool("perfdhcp");
  mkdirSync(work, { recursive: true });
  const peers: Peer[] = [];
  try {
    peers.push(await ours("fsync"), await ours("write"), await kea(), await dnsmasq());
    // Warm-up (JIT, caches, first lease-file writes), not counted.
    for (const p of peers) {
      await p.net.inClient("perfdhcp", ["-4", "-l", "cli0", "-r", "1000", "-p", "2"], {
        reject: false,
      });
    }
    for (const rate of RATES) {
      // Every peer runs every rate until all have failed two rates in a row:
      // the load on this machine changes within minutes, so a peer that
      // stopped early would be compared with others measured in a quieter
      // (or busier) moment.
      if (peers.every((p) => p.failures >= 2)) break;
      const live = peers;
      for (const p of live) {
        // The machine is shared: a failed step gets two retries, for every peer alike.
        let s = await step(p, rate);
        for (let i = 0; i < 2 && !passed(s); i += 1) s = await step(p, rate);
        p.steps.push(s);
        p.failures = passed(s) ? 0 : p.failures + 1;
        console.log(
          `${p.name.padEnd(10)} rate ${String(rate).padStart(6)}: ${s.achieved.toFixed(0).padStart(6)} exchanges/s, ` +
            `drops ${s.dropsOffer.toFixed(2)}% / ${s.dropsAck.toFixed(2)}%`,
        );
      }
    }
  } finally {
    for (const p of peers) {
      await p.stop().catch(() => undefined);
      await p.net.close();
    }
  }
  const [of, ow, k, d] = peers.map(best) as [number, number, number, number];
  const summary = {
    command: `perfdhcp -4 -l cli0 -r RATE -p ${PERIOD}`,
    rates: RATES,
    best: { "am-fsync": of, "am-write": ow, kea: k, dnsmasq: d },
    ratio: {
      fsyncVsKea: of / k,
      writeVsKea: ow / k,
      fsyncVsDnsmasq: of / d,
      writeVsDnsmasq: ow / d,
    },
    steps: Object.fromEntries(peers.map((p) => [p.name, p.steps])),
  };
  writeFileSync(join(work, "result.json"), `${JSON.stringify(summary, null, 1)}\n`);
  const r = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "n/a");
  console.log(
    `DHCP best rate at <${MAX_DROP_PCT}% drops: am-fsync ${of.toFixed(0)}, am-write ${ow.toFixed(0)}, ` +
      `kea ${k.toFixed(0)}, dnsmasq ${d.toFixed(0)}; vs kea: fsync ${r(of, k)}, write ${r(ow, k)}; ` +
      `vs dnsmasq: fsync ${r(of, d)}, write ${r(ow, d)}`,
  );
}

await main();
