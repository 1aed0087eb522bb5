// dnsmasq as another DHCP server on a test segment (proxy mode's neighbour,
// the safety test's rival, the e2e chain's site server). Resolves once
// dnsmasq has said it serves its range, which it logs after binding its
// sockets: no fixed sleep, and a dnsmasq that cannot start fails the test with
// its own words.
import { createWriteStream } from "node:fs";
import type { Options, ResultPromise } from "execa";

/** Runs a command where dnsmasq should live (a namespace). */
export type Exec = (cmd: string, args: string[], opts: Options) => ResultPromise;

export interface DnsmasqOptions {
  iface: string;
  /** dnsmasq's --dhcp-range, e.g. "10.77.0.50,10.77.0.60,1h". */
  range: string;
  leaseFile: string;
  authoritative?: boolean;
  /** Log every DHCP exchange (--log-dhcp) and keep the whole output in this file. */
  logFile?: string;
  readyTimeoutMs?: number;
  /** More options (TFTP, boot files), after the ones above. */
  extra?: string[];
}

export interface Dnsmasq {
  /** Not awaited by callers: awaiting a subprocess waits for its exit. */
  proc: ResultPromise;
  output(): string;
  stop(): void;
}

/** The line dnsmasq logs once its DHCP socket is up. */
const READY = /DHCP, IP range /;

export function dnsmasqArgs(o: DnsmasqOptions): string[] {
  return [
    "--conf-file=/dev/null",
    "--port=0",
    "--no-daemon",
    `--interface=${o.iface}`,
    "--bind-interfaces",
    `--dhcp-range=${o.range}`,
    `--dhcp-leasefile=${o.leaseFile}`,
    ...(o.authoritative ? ["--dhcp-authoritative"] : []),
    "--no-ping",
    ...(o.logFile ? ["--log-dhcp"] : []),
    "--log-facility=-",
    "--pid-file=",
    ...(o.extra ?? []),
  ];
}

export async function startDnsmasq(exec: Exec, o: DnsmasqOptions): Promise<Dnsmasq> {
  const proc = exec("dnsmasq", dnsmasqArgs(o), { reject: false, all: true, buffer: false });
  let out = "";
  if (o.logFile) proc.all?.pipe(createWriteStream(o.logFile));
  const handle: Dnsmasq = { proc, output: () => out, stop: () => void proc.kill("SIGKILL") };
  const timeoutMs = o.readyTimeoutMs ?? 10_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      handle.stop();
      reject(new Error(`dnsmasq on ${o.iface}: not serving after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    proc.all?.on("data", (d: Buffer) => {
      out += d.toString();
      if (READY.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void proc.then((r) => {
      clearTimeout(timer);
      reject(new Error(`dnsmasq on ${o.iface} exited (${r.exitCode ?? r.signal}):\n${out}`));
    });
  });
  return handle;
}
