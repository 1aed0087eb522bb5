// dhcp-flood: `automagic serve` in full DHCP mode, started from a config
// file inside a namespace pair made here, takes 100,000 fuzzed datagrams on
// port 67 (random bytes, mutated captures, and one in ten a long one made of
// one-byte instances of one option: alternately 65,507 bytes, the longest
// UDP payload, and 1,472, the longest a 1500-byte link carries) while
// udhcpc takes a lease over and over on the same link.
// Measured: each DORA's time, from udhcpc's "deconfig" hook call (made just
// before its DISCOVER) to its "bound" call (after the ACK), so process start
// is not in it; the idle p50 before the flood is printed beside it (about
// 80 ms of it is udhcpc's own pauses: tcpdump shows the server answering
// each message in 1-4 ms). Also the
// rate actually sent, and whether serve is still up (process alive, HTTP
// answers) afterwards.
// Verdict ok: serve stayed up and every DORA during the flood got its lease.
//   npx tsx test/chaos/dhcp-flood.chaos.ts    (or: bash test/chaos/run.sh dhcp-flood)
//   COUNT=20000 RATE=2000 to shorten it while debugging.
import {
  appendFileSync,
  chmodSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { row } from "./row.ts";
import { createTestNet, type TestNet } from "../lib/netns.ts";
import { requireTool } from "../lib/tools.ts";
import {
  fullDhcpConfig,
  makeWorld,
  startServe,
  type Served,
  type World,
} from "../integration/control/serve-process.ts";

const SENDER = join(import.meta.dirname, "../integration/dhcp/fuzz-sender.ts");
const COUNT = Number(process.env.COUNT ?? 100_000);
const RATE = Number(process.env.RATE ?? 4000);
const MAC = "52:54:00:a0:00:01"; // hosts/qemu-bios.yaml, given a reservation below
const RESERVED = "10.77.0.42";
// udhcpc as the fuzz test runs it: a BIOS PXE ROM's vendor class and arch.
const PXE_BIOS = ["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (n: number) => `${n.toFixed(0)} ms`;

let doras = 0;

/** One DORA by udhcpc: its time in ms, or why it got no lease (or not the reserved one). */
async function dora(net: TestNet, dir: string): Promise<number | Error> {
  doras += 1;
  const hook = join(dir, `hook-${doras}.sh`);
  const out = join(dir, `hook-${doras}.txt`);
  writeFileSync(hook, `#!/bin/sh\necho "$1 $(date +%s%N) $ip" >> '${out}'\n`);
  chmodSync(hook, 0o755);
  const r = await net.inClient(
    "udhcpc",
    ["-i", net.clientIf, "-n", "-q", "-f", "-t", "4", "-T", "1", "-s", hook, ...PXE_BIOS],
    { reject: false, timeout: 20_000 },
  );
  let calls: string[][] = [];
  try {
    calls = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" "));
  } catch {
    // no hook call at all
  }
  const start = calls.find((c) => c[0] === "deconfig");
  const bound = calls.find((c) => c[0] === "bound");
  if (!start || !bound) {
    return new Error(`udhcpc exit ${r.exitCode}, no lease: ${String(r.stderr).slice(-300)}`);
  }
  if (bound[2] !== RESERVED) return new Error(`udhcpc got ${bound[2]}, want ${RESERVED}`);
  return Number(BigInt(bound[1]!) - BigInt(start[1]!)) / 1e6;
}

function startWorld(): { world: World; cfg: string } {
  const world = makeWorld();
  // A reservation, as for a known machine: the flood's random DISCOVERs may
  // hold every pool address (30 s offers), which is not what this measures.
  appendFileSync(
    join(world.hostsDir, "qemu-bios.yaml"),
    `network: { mode: static, address: ${RESERVED}/24, gateway: 10.77.0.1 }\n`,
  );
  const cfg = fullDhcpConfig(world, [
    "probeMs: 300",
    "subnet: { network: 10.77.0.0, prefixLen: 24, poolStart: 10.77.0.100, poolEnd: 10.77.0.199 }",
  ]);
  return { world, cfg };
}

async function httpUp(net: TestNet): Promise<boolean> {
  const r = await net.inClient(
    "curl",
    [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--max-time",
      "5",
      "http://10.77.0.1:8080/boot.ipxe",
    ],
    { reject: false },
  );
  return /^[1-5]\d\d$/.test(String(r.stdout));
}

async function main(): Promise<void> {
  for (const t of ["udhcpc", "curl", "ip"]) requireTool(t);
  const dir = mkdtempSync(join(tmpdir(), "am-chaos-dhcp-"));
  const { world, cfg } = startWorld();
  let net: TestNet | undefined;
  let srv: Served | undefined;
  try {
    net = await createTestNet("am-chaos");
    await net.inClient("ip", ["link", "set", net.clientIf, "address", MAC]);
    await net.inClient("ip", ["addr", "add", "10.77.0.2/24", "dev", net.clientIf]);
    srv = await startServe(world, ["--config", cfg], net.server);

    const idle: number[] = [];
    for (let i = 0; i < 11; i += 1) {
      const r = await dora(net, dir);
      if (r instanceof Error) throw new Error(`DORA before the flood failed: ${r.message}`);
      if (i > 0) idle.push(r); // the first warms serve up (JIT, first lease write)
    }

    let flooding = true;
    const flood = net
      .inClient(
        process.execPath,
        ["--import", "tsx", SENDER, "--to", "10.77.0.1:67", "--count", String(COUNT)].concat([
          "--seed",
          "13",
          "--big-every",
          "10",
          "--rate",
          String(RATE),
        ]),
        { timeout: 170_000 },
      )
      .finally(() => (flooding = false));
    const during: number[] = [];
    const failed: Error[] = [];
    while (flooding) {
      const r = await dora(net, dir);
      if (r instanceof Error) failed.push(r);
      else during.push(r);
    }
    const sent = JSON.parse(String((await flood).stdout)) as { sent: number; seconds: number };

    const alive = srv.proc.exitCode === null && srv.proc.signalCode === null;
    const up = alive && (await httpUp(net));
    const dropLines = srv
      .log()
      .split("\n")
      .filter((l) => l.includes("oversized datagrams"));
    const runs = during.length + failed.length;
    row(
      "dhcp-flood",
      `${sent.sent.toLocaleString("en")} fuzzed datagrams to :67 at ${(sent.sent / sent.seconds).toFixed(0)}/s ` +
        `for ${sent.seconds.toFixed(0)} s (1 in 10 long: 65,507 or 1,472 bytes of one-byte option instances), ` +
        `udhcpc DORA in a loop meanwhile; automagic serve, full DHCP, in a netns`,
      `server up after: ${up ? "yes" : "NO"} (HTTP ${up ? "answers" : "silent"}); ` +
        `DORA during flood p50 ${ms(pct(during, 50))}, p99 ${ms(pct(during, 99))}, ` +
        `${during.length}/${runs} completed (idle p50 ${ms(pct(idle, 50))}); ` +
        `drop log: ${dropLines.length} lines` +
        (failed.length ? `; first failure: ${failed[0]!.message.slice(0, 200)}` : ""),
      up && failed.length === 0 && runs >= 10,
    );
  } finally {
    await srv?.stop().catch(() => undefined);
    await net?.close();
    world.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
