// tftp-slow: `automagic serve`, started from a config file inside a
// namespace pair made here, takes 512 misbehaving TFTP readers from one
// address (10.77.0.3), each asking for undionly.kpxe with timeout=255 and
// blksize 8: half never ACK (a spoofed request, re-sent every second as a
// persistent attacker would), half ACK every packet 0.9 s late (just inside
// the retransmission timer) and ask again a second after a refusal. Issue
// #14: they took all 512 slots for ~25 minutes and every unACKed request was
// answered six times. While they push, a firmware-like client from another
// address (atftp asking blksize 1432 and tsize, as iPXE does) fetches
// undionly.kpxe five times.
// Measured: refusals the slow source got (by message), the transfers it
// started, the packets and bytes sent back to it (an nftables counter in the
// client namespace, on the wire) against the RRQs it sent, and each real
// fetch's time, result and sha256 against the served file.
// Verdict ok: every real fetch intact, the slow source refused per address.
//   npx tsx test/chaos/tftp-slow.chaos.ts    (or: bash test/chaos/run.sh tftp-slow)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { row } from "./row.ts";
import { createTestNet, type TestNet } from "../lib/netns.ts";
import { requireTool } from "../lib/tools.ts";
import { makeWorld, startServe, type Served } from "../integration/control/serve-process.ts";
import { startSlowClients, type SlowClients } from "../integration/tftp/harness.ts";
import type { SlowStats } from "../integration/tftp/slow-client.ts";
import { sha256 } from "../../shared/hash.ts";

const IPXE_DIR = "/usr/lib/ipxe";
const FIRMWARE_IP = "10.77.0.2";
const SLOW_IP = "10.77.0.3";
const SLOW = 512;
const FETCHES = 5;
const SETTLE_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (a: Record<string, number>, b: Record<string, number>) => {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
};
const listed = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, v]) => `${v.toLocaleString("en")} "${k}"`)
    .join(", ") || "none";

interface Fetch {
  ms: number;
  ok: boolean;
  detail: string;
}

/** The firmware-like fetch: atftp with iPXE's options, compared with the served file. */
async function fetchLikeIpxe(net: TestNet, dir: string, i: number, want: string): Promise<Fetch> {
  const local = join(dir, `fetch-${i}`);
  const t0 = performance.now();
  const r = await net.inClient(
    "atftp",
    ["--option", "blksize 1432", "--option", "tsize 0", "-g", "-r", "undionly.kpxe"].concat([
      "-l",
      local,
      "10.77.0.1",
    ]),
    { reject: false, all: true, timeout: 60_000 },
  );
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) {
    return { ms, ok: false, detail: `atftp exit ${r.exitCode}: ${String(r.all).slice(-200)}` };
  }
  const got = sha256(readFileSync(local));
  return { ms, ok: got === want, detail: got === want ? "sha256 ok" : `sha256 ${got}` };
}

async function onWire(net: TestNet): Promise<{ packets: number; bytes: number }> {
  const r = await net.inClient("nft", ["list", "table", "inet", "slow"]);
  const m = /counter packets (\d+) bytes (\d+)/.exec(String(r.stdout));
  return { packets: Number(m?.[1]), bytes: Number(m?.[2]) };
}

async function main(): Promise<void> {
  for (const t of ["atftp", "nft", "ip"]) requireTool(t);
  const want = sha256(readFileSync(join(IPXE_DIR, "undionly.kpxe")));
  const dir = mkdtempSync(join(tmpdir(), "am-chaos-tftp-"));
  const world = makeWorld();
  let net: TestNet | undefined;
  let srv: Served | undefined;
  const slow: SlowClients[] = [];
  try {
    net = await createTestNet("am-chaos");
    await net.inClient("ip", ["addr", "add", `${FIRMWARE_IP}/24`, "dev", net.clientIf]);
    await net.inClient("ip", ["addr", "add", `${SLOW_IP}/24`, "dev", net.clientIf]);
    await net.inClient("nft", ["-f", "-"], {
      input: `table inet slow {
  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr 10.77.0.1 ip daddr ${SLOW_IP} meta l4proto udp counter
  }
}
`,
    });
    const cfg = join(world.dir, "serve.yaml");
    writeFileSync(
      cfg,
      [
        "interface: srv0",
        "listen: 10.77.0.1",
        "http: { port: 8080 }",
        "tftp: { port: 69 }",
        `ipxeDir: ${IPXE_DIR}`,
        "",
      ].join("\n"),
    );
    srv = await startServe(world, ["--config", cfg], net.server);

    const base = {
      host: "10.77.0.1",
      bind: SLOW_IP,
      count: SLOW / 2,
      file: "undionly.kpxe",
      options: [
        ["timeout", "255"],
        ["blksize", "8"],
      ] as [string, string][],
      retryMs: 1000,
    };
    slow.push(await startSlowClients(net, base));
    slow.push(await startSlowClients(net, { ...base, ackMs: 900 }));
    await sleep(SETTLE_MS);

    const fetches: Fetch[] = [];
    for (let i = 0; i < FETCHES; i += 1) {
      fetches.push(await fetchLikeIpxe(net, dir, i, want));
      await sleep(2000);
    }
    const seen = await Promise.all(slow.map((s) => s.stats()));
    const wire = await onWire(net);
    const total = seen.reduce((a, s): SlowStats => ({
      ...a,
      sent: a.sent + s.sent,
      started: a.started + s.started,
      holding: a.holding + s.holding,
      refused: sum(a.refused, s.refused),
      ended: sum(a.ended, s.ended),
      packets: a.packets + s.packets,
    }));
    const alive = srv.proc.exitCode === null && srv.proc.signalCode === null;
    const refusedPerAddress = total.refused["too many transfers from your address"] ?? 0;
    const good = fetches.filter((f) => f.ok).length;
    row(
      "tftp-slow",
      `${SLOW} TFTP readers from one address (${SLOW / 2} never ACK and re-ask every 1 s, ` +
        `${SLOW / 2} ACK every packet 0.9 s late; all timeout=255 blksize=8) against automagic serve ` +
        `in a netns; meanwhile ${FETCHES}x atftp (blksize 1432, tsize) of undionly.kpxe from another address`,
      `slow source: ${total.sent.toLocaleString("en")} RRQs sent, ${total.started.toLocaleString("en")} transfers started, ` +
        `refused: ${listed(total.refused)}; ended by the server: ${listed(total.ended)}; ` +
        `sent back to it: ${wire.packets.toLocaleString("en")} packets, ${wire.bytes.toLocaleString("en")} bytes ` +
        `(${(wire.packets / total.sent).toFixed(2)} per RRQ); ` +
        `real client: ${good}/${FETCHES} intact, ${fetches.map((f) => `${f.ms.toFixed(0)} ms`).join(", ")}` +
        (good < FETCHES ? `; first failure: ${fetches.find((f) => !f.ok)!.detail}` : "") +
        `; serve ${alive ? "up" : "DIED"}`,
      alive && good === FETCHES && refusedPerAddress > 0,
    );
  } finally {
    await Promise.allSettled(slow.map((s) => s.quit()));
    await srv?.stop().catch(() => undefined);
    await net?.close();
    world.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
