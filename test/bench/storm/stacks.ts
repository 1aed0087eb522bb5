// The two stacks a storm runs against, each in its own namespace pair
// (createTestNet: server end srv0 = 10.77.0.1/22, the machines behind cli0):
//  - automagic: `automagic serve -c serve.yaml`, full DHCP, TFTP and HTTP in
//    one process, state on the real disk, hosts armed through the admin API;
//  - peer: dnsmasq (DHCP + TFTP, PXE boot files by user class) and nginx
//    (a static boot.ipxe naming the same kernel and initrd).
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { startDnsmasq } from "../../lib/dnsmasq.ts";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { nginxArgs } from "../../lib/nginx.ts";
import { sample } from "../../lib/prom.ts";
import { treeRss } from "../../lib/rss.ts";
import { requireTool } from "../../lib/tools.ts";
import { cli, startServe } from "../../integration/control/serve-process.ts";
import { LOADER, stormHost, type Image } from "./world.ts";

export const SERVER_IP = "10.77.0.1";
export const PREFIX_LEN = 22;
export const ROUTE = `10.77.0.0/${PREFIX_LEN}`;
const POOL = { start: "10.77.0.100", end: "10.77.3.250" };
const HTTP = `http://${SERVER_IP}:8080`;

export interface Sampled {
  rssMiB: number;
  /** nodejs_eventloop_lag_max_seconds of the scrape (automagic only). */
  loopMaxMs?: number;
  loopP99Ms?: number;
}

export interface Stack {
  name: string;
  net: TestNet;
  /** What the stack holds in memory now, and (automagic) its event loop since the last sample. */
  sample(): Promise<Sampled>;
  /** Bytes the stack's state takes on disk (SQLite + WAL; dnsmasq's lease file). */
  stateBytes(): number;
  /** Server-side figures read after the storm (automagic: /metrics). */
  tally(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

async function net(tag: string): Promise<TestNet> {
  return createTestNet(`am-st${tag}`, { prefixLen: PREFIX_LEN });
}

/** `serve` as users run it, with `armed` storm hosts armed for install. */
export async function automagicStack(
  dir: string,
  image: Image,
  hostsDir: string,
  armed: number,
): Promise<Stack> {
  const n = await net("a");
  const stateDir = join(dir, "state");
  const cfg = join(dir, "serve.yaml");
  writeFileSync(
    cfg,
    [
      "interface: srv0",
      `listen: ${SERVER_IP}`,
      "http: { port: 8080 }",
      "tftp: { port: 69 }",
      "dhcp:",
      "  mode: full",
      `  subnet: { network: 10.77.0.0, prefixLen: ${PREFIX_LEN}, poolStart: ${POOL.start}, poolEnd: ${POOL.end} }`,
      `hostsDir: ${hostsDir}`,
      `stateDir: ${stateDir}`,
      `imagesDir: ${image.imagesDir}`,
      "",
    ].join("\n"),
  );
  const world = { dir, hostsDir, stateDir, imagesDir: image.imagesDir, close: () => undefined };
  let srv;
  try {
    srv = await startServe(world, ["--config", cfg], n.server);
  } catch (err) {
    await n.close();
    throw err;
  }
  const served = srv;
  const stop = async () => {
    await served.stop();
    writeFileSync(join(dir, "serve.log"), served.log());
    await n.close();
  };
  try {
    await arm(n, stateDir, armed);
    await healthy(n);
  } catch (err) {
    await stop();
    throw err;
  }
  const metrics = async () =>
    String((await n.inServer("curl", ["-sS", "--max-time", "10", `${HTTP}/metrics`])).stdout);
  return {
    name: "automagic",
    net: n,
    async sample() {
      const text = await metrics().catch(() => "");
      const s: Sampled = { rssMiB: treeRss(served.proc.pid!) };
      const max = sample(text, "nodejs_eventloop_lag_max_seconds");
      const p99 = sample(text, "nodejs_eventloop_lag_p99_seconds");
      if (max !== undefined) s.loopMaxMs = max * 1000;
      if (p99 !== undefined) s.loopP99Ms = p99 * 1000;
      return s;
    },
    stateBytes: () => dirBytes(stateDir),
    async tally() {
      const text = await metrics();
      const read = (name: string, labels: Record<string, string> = {}) =>
        sample(text, name, labels) ?? 0;
      return {
        runsDone: read("automagic_runs_total", { outcome: "done" }),
        runsFailed: read("automagic_runs_total", { outcome: "failed" }),
        dhcpReceived: read("automagic_dhcp_received_total"),
        dhcpReplied: read("automagic_dhcp_replied_total"),
        dhcpErrors: read("automagic_dhcp_errors_total"),
        tftpErrors: read("automagic_tftp_errors_total"),
        traceRowsDropped: read("automagic_trace_rows_dropped_total"),
      };
    },
    stop,
  };
}

/** Until /healthz says 200: HTTP answers first, DHCP after its probe for other servers. */
async function healthy(n: TestNet): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await n.inServer(
      "curl",
      ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${HTTP}/healthz`],
      { reject: false },
    );
    if (String(r.stdout) === "200") return;
    if (Date.now() > deadline)
      throw new Error(`serve: /healthz still ${String(r.stdout)} after 60 s`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/**
 * Arms storm hosts 0..n-1 for install: the first with the CLI an operator
 * types, the rest through the same admin API call (POST .../next) a script
 * of theirs would make, with the token serve wrote into its state folder.
 */
async function arm(n: TestNet, stateDir: string, count: number): Promise<void> {
  if (count === 0) return;
  const token = readFileSync(join(stateDir, "admin-token"), "utf8").trim();
  const env = { AUTOMAGIC_SERVER: HTTP, AUTOMAGIC_ADMIN_TOKEN: token };
  // "http: serving" is logged as the socket binds: the first call may come a moment early.
  let first = await cli(["next", stormHost(0), "install"], env, n.server);
  for (let i = 0; i < 20 && /ECONNREFUSED/.test(String(first.stderr)); i++) {
    await new Promise((r) => setTimeout(r, 250));
    first = await cli(["next", stormHost(0), "install"], env, n.server);
  }
  if (first.exitCode !== 0)
    throw new Error(`automagic next ${stormHost(0)} install: ${first.stderr}`);
  const one = (i: number) =>
    n.inServer("curl", [
      "-sS",
      "--fail-with-body",
      "-X",
      "POST",
      "-H",
      `authorization: Bearer ${token}`,
      "-H",
      "content-type: application/json",
      "-d",
      '{"action":"install"}',
      `${HTTP}/api/v1/admin/hosts/${stormHost(i)}/next`,
    ]);
  for (let i = 1; i < count; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, count - i) }, (_, k) => one(i + k)));
  }
}

/** dnsmasq (DHCP + TFTP) and nginx serving a static boot.ipxe, kernel and initrd. */
export async function peerStack(dir: string, image: Image): Promise<Stack> {
  for (const t of ["dnsmasq", "nginx"]) requireTool(t);
  const n = await net("p");
  const procs: ResultPromise[] = [];
  const stop = async () => {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.catch(() => undefined)));
    await n.close();
  };
  try {
    const tftpRoot = join(dir, "tftp");
    const www = join(dir, "www");
    mkdirSync(tftpRoot, { recursive: true });
    mkdirSync(join(www, "s1"), { recursive: true });
    copyFileSync(LOADER, join(tftpRoot, "undionly.kpxe"));
    copyFileSync(image.kernel, join(www, "s1/vmlinuz"));
    copyFileSync(image.initrd, join(www, "s1/initrd.img"));
    writeFileSync(
      join(www, "boot.ipxe"),
      `#!ipxe\nkernel ${HTTP}/s1/vmlinuz initrd=initrd.img console=ttyS0\ninitrd --name initrd.img ${HTTP}/s1/initrd.img\nboot\n`,
    );
    const site = { dir, listen: `${SERVER_IP}:8080`, root: www, workers: "auto" };
    procs.push(n.inServer("nginx", nginxArgs(site), { reject: false }));
    const dm = await startDnsmasq((c, a, o) => n.inServer(c, a, o), {
      iface: "srv0",
      range: `${POOL.start},${POOL.end},255.255.252.0,1h`,
      leaseFile: join(dir, "leases"),
      authoritative: true,
      extra: [
        "--enable-tftp",
        `--tftp-root=${tftpRoot}`,
        // dnsmasq's default of 50 concurrent transfers refuses a storm; a site would raise it.
        "--tftp-max=2000",
        "--dhcp-userclass=set:ipxe,iPXE",
        "--dhcp-boot=tag:!ipxe,undionly.kpxe",
        `--dhcp-boot=tag:ipxe,${HTTP}/boot.ipxe`,
        "--dhcp-lease-max=2000",
      ],
    });
    procs.push(dm.proc);
    for (let i = 0; i < 100; i++) {
      const r = await n.inServer(
        "curl",
        ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${HTTP}/boot.ipxe`],
        {
          reject: false,
        },
      );
      if (String(r.stdout) === "200") break;
      if (i === 99) throw new Error(`nginx: ${HTTP}/boot.ipxe not served`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: "peer",
    net: n,
    sample: async () => ({ rssMiB: procs.reduce((a, p) => a + treeRss(p.pid!), 0) }),
    stateBytes: () => statSync(join(dir, "leases")).size,
    tally: async () => ({}),
    stop,
  };
}
