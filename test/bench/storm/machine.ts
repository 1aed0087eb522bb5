// One simulated machine of the storm, in the order firmware and the RAM
// system go: DHCP as PXE firmware, TFTP undionly.kpxe (a share of the
// machines: BIOS without iPXE in ROM), DHCP again as iPXE, the boot script
// (following `chain` as iPXE does), kernel and initrd (hashed as they arrive
// and compared with the served files), then, for an armed host, the spec
// with the token from the kernel command line, one event batch a second for
// the install's length, and run-done. Every stage's end is stamped so the
// storm can tell where the time went.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import http from "node:http";
import { promisify } from "node:util";
import { tftpGet } from "../../lib/tftp-client.ts";
import type { StormDhcp } from "./dhcp-client.ts";

export interface MachinePlan {
  mac: string;
  uuid: string;
  /** Starts with firmware PXE + TFTP; otherwise iPXE is in ROM and asks DHCP as iPXE. */
  tftp: boolean;
  /** Walk the control plane (spec, events, run-done) when the script boots the image. */
  control: boolean;
  /** Milliseconds after the storm's start this machine powers on. */
  at: number;
}

export interface Expected {
  kernelSha256: string;
  initrdSha256: string;
  loaderSha256: string;
  installSeconds: number;
  iface: string;
}

/** Stage -> ms since the storm's start when it ended. */
export type Stamps = Partial<Record<Stage, number>>;
export const STAGES = [
  "dhcp",
  "tftp",
  "dhcpIpxe",
  "script",
  "kernel",
  "initrd",
  "spec",
  "done",
] as const;
export type Stage = (typeof STAGES)[number];

export interface MachineResult {
  mac: string;
  ip?: string;
  /** What the boot script did: booted the image or went local. */
  booted: boolean;
  start: number;
  stamps: Stamps;
  dhcpRetries: number;
  tftpRetries: number;
  error?: string;
}

const run = promisify(execFile);
const HTTP_TIMEOUT_MS = 120_000;

/** The machine's leased address, as its NIC would hold it (one /32 per machine on the shared link). */
async function holdAddress(ip: string, iface: string): Promise<void> {
  try {
    await run("ip", ["addr", "add", `${ip}/32`, "dev", iface]);
  } catch (err) {
    if (!/File exists|already assigned/.test(String((err as { stderr?: string }).stderr)))
      throw err;
  }
}

function get(url: string, from: string, onBody: (c: Buffer) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { localAddress: from, agent: false, timeout: HTTP_TIMEOUT_MS },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
          return;
        }
        let n = 0;
        res.on("data", (c: Buffer) => {
          n += c.length;
          onBody(c);
        });
        res.on("end", () => resolve(n));
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`GET ${url}: no data for ${HTTP_TIMEOUT_MS} ms`)),
    );
    req.on("error", reject);
  });
}

async function getText(url: string, from: string): Promise<string> {
  const parts: Buffer[] = [];
  await get(url, from, (c) => parts.push(c));
  return Buffer.concat(parts).toString("utf8");
}

async function getSha256(url: string, from: string): Promise<string> {
  const h = createHash("sha256");
  await get(url, from, (c) => h.update(c));
  return h.digest("hex");
}

async function post(url: string, from: string, body: unknown): Promise<unknown> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        localAddress: from,
        agent: false,
        timeout: HTTP_TIMEOUT_MS,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          const text = Buffer.concat(parts).toString();
          if (res.statusCode !== 200)
            reject(new Error(`POST ${url}: HTTP ${res.statusCode}: ${text}`));
          else resolve(JSON.parse(text));
        });
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`POST ${url}: no answer in ${HTTP_TIMEOUT_MS} ms`)),
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** iPXE's expansion of the settings a boot script uses. */
function expand(url: string, m: MachinePlan): string {
  return url
    .replace("${netX/mac}", m.mac)
    .replace("${net0/mac}", m.mac)
    .replace("${uuid}", m.uuid)
    .replace("${buildarch}", m.tftp ? "i386" : "x86_64");
}

/** Follows `chain` lines until a script names a kernel, or says nothing to boot (local). */
async function bootScript(first: string, m: MachinePlan, from: string): Promise<string> {
  let url = first;
  for (let hop = 0; hop < 4; hop++) {
    const text = await getText(url, from);
    const chain = /^chain (\S+)/m.exec(text)?.[1];
    if (!chain || /^kernel /m.test(text)) return text;
    url = expand(chain, m);
  }
  throw new Error(`${first}: more than 4 chained scripts`);
}

/** One batch of what the payload reports in a second of its install: a step's start, output, progress. */
function batch(seq: number, second: number): Array<Record<string, unknown>> {
  const time = new Date().toISOString();
  const step = `step-${Math.floor(second / 5)}`;
  return [
    {
      seq,
      time,
      phase: 1,
      kind: second % 5 === 0 ? "step-start" : "log",
      step,
      message: `working on ${step}`,
    },
    { seq: seq + 1, time, phase: 1, kind: "log", step, message: `>>> ${"output line ".repeat(6)}` },
    {
      seq: seq + 2,
      time,
      phase: 1,
      kind: "progress",
      step,
      progress: { done: second, total: 100, unit: "packages" },
    },
  ];
}

async function control(
  m: MachinePlan,
  script: string,
  ip: string,
  x: Expected,
  stamp: (s: Stage) => void,
) {
  const token = /automagic\.token=(\S+)/.exec(script)?.[1];
  const base = /automagic\.url=(\S+)/.exec(script)?.[1];
  if (!token || !base) throw new Error(`${m.mac}: boot script carries no token or url`);
  const spec = JSON.parse(await getText(`${base}/api/v1/run/${token}/spec`, ip)) as {
    hostname?: string;
  };
  if (!spec.hostname) throw new Error(`${m.mac}: spec without hostname`);
  stamp("spec");
  const events = `${base}/api/v1/run/${token}/events`;
  let seq = 1;
  await post(events, ip, {
    events: [{ seq: seq++, time: new Date().toISOString(), phase: 1, kind: "run-start" }],
  });
  for (let s = 0; s < x.installSeconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    await post(events, ip, { events: batch(seq, s) });
    seq += 3;
  }
  const out = (await post(events, ip, {
    events: [{ seq, time: new Date().toISOString(), phase: 1, kind: "run-done" }],
  })) as { status?: string };
  if (out.status !== "done") throw new Error(`${m.mac}: run-done answered status ${out.status}`);
  stamp("done");
}

export async function walk(
  m: MachinePlan,
  dhcp: StormDhcp,
  x: Expected,
  t0: number,
): Promise<MachineResult> {
  const r: MachineResult = {
    mac: m.mac,
    booted: false,
    start: Date.now() - t0,
    stamps: {},
    dhcpRetries: 0,
    tftpRetries: 0,
  };
  const stamp = (s: Stage) => (r.stamps[s] = Date.now() - t0);
  try {
    if (m.tftp) {
      const l = await dhcp.lease({ mac: m.mac, uuid: m.uuid, as: "pxe-bios" });
      r.dhcpRetries += l.retries;
      r.ip = l.ip;
      stamp("dhcp");
      await holdAddress(l.ip, x.iface);
      if (l.bootfile !== "undionly.kpxe") throw new Error(`${m.mac}: DHCP boot file ${l.bootfile}`);
      const server = l.siaddr !== "0.0.0.0" ? l.siaddr : l.serverId;
      let got;
      for (let i = 0; !got; i++) {
        try {
          got = await tftpGet({
            host: server,
            port: 69,
            file: l.bootfile,
            localAddress: l.ip,
            timeoutMs: 30_000,
            // What PXE ROMs ask for (an Ethernet frame's worth per block, and the size).
            options: [
              ["blksize", "1432"],
              ["tsize", "0"],
            ],
          });
        } catch (err) {
          if (i >= 2 || !/timed out/.test((err as Error).message)) throw err;
          r.tftpRetries += 1;
        }
      }
      if (createHash("sha256").update(got.data).digest("hex") !== x.loaderSha256)
        throw new Error(`${m.mac}: undionly.kpxe differs from the served file`);
      stamp("tftp");
    }
    const l = await dhcp.lease({ mac: m.mac, uuid: m.uuid, as: "ipxe" });
    r.dhcpRetries += l.retries;
    if (r.ip && r.ip !== l.ip)
      throw new Error(`${m.mac}: iPXE got ${l.ip}, the firmware had ${r.ip}`);
    r.ip = l.ip;
    await holdAddress(l.ip, x.iface);
    stamp(m.tftp ? "dhcpIpxe" : "dhcp");
    if (!/^http:\/\//.test(l.bootfile))
      throw new Error(`${m.mac}: iPXE was told to boot ${l.bootfile}`);
    const script = await bootScript(l.bootfile, m, l.ip);
    stamp("script");
    const kernel = /^kernel (\S+)/m.exec(script)?.[1];
    const initrd = /^initrd (?:--name \S+ )?(\S+)/m.exec(script)?.[1];
    if (!kernel || !initrd) return r; // local: the machine boots its disk
    r.booted = true;
    if ((await getSha256(kernel, l.ip)) !== x.kernelSha256)
      throw new Error(`${m.mac}: kernel differs`);
    stamp("kernel");
    if ((await getSha256(initrd, l.ip)) !== x.initrdSha256)
      throw new Error(`${m.mac}: initrd differs`);
    stamp("initrd");
    if (m.control) await control(m, script, l.ip, x, stamp);
  } catch (err) {
    r.error = (err as Error).message;
  }
  return r;
}
