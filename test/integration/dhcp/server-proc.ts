// Starts server/dhcp/standalone.ts inside a test namespace and talks to it:
// ready, stats, trace lines, stop. Used by every DHCP integration test.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import type { DhcpStats } from "../../../server/dhcp/hooks.ts";
import { nsExec } from "../../lib/netns.ts";

export interface ServerProc {
  proc: ResultPromise;
  dir: string;
  stderr(): string;
  stats(): Promise<{
    stats: DhcpStats;
    leases: Array<{ mac: string; ip: string; expires: number }>;
  }>;
  traces(): Array<{ mac: string; what: string; detail: Record<string, unknown> }>;
  stop(): Promise<void>;
}

const STANDALONE = join(import.meta.dirname, "../../../server/dhcp/standalone.ts");

export function baseConfig(
  dir: string,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    mode: "full",
    interface: "srv0",
    serverIp: "10.77.0.1",
    subnet: {
      network: "10.77.0.0",
      prefixLen: 24,
      poolStart: "10.77.0.100",
      poolEnd: "10.77.0.199",
      router: "10.77.0.1",
      dns: ["10.77.0.1"],
    },
    bootfiles: { bios: "undionly.kpxe", uefi: "snponly.efi" },
    ipxeScriptUrl: "http://10.77.0.1:8080/boot.ipxe",
    leaseFile: join(dir, "leases"),
    probeMs: 300,
    ...over,
  };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "am-dhcp-"));
}

/** Starts the server in namespace `ns`; resolves once it prints "ready", rejects with its stderr if it exits. */
export async function startServerIn(
  ns: string,
  cfg: Record<string, unknown>,
  dir: string,
): Promise<ServerProc> {
  const cfgPath = join(dir, `cfg-${Date.now()}.json`);
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const proc = nsExec(ns, process.execPath, ["--import", "tsx", STANDALONE, cfgPath], {
    stdin: "pipe",
    reject: false,
    buffer: false,
  });
  let err = "";
  let out = "";
  const waiters: Array<(line: string) => void> = [];
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    let i: number;
    while ((i = out.indexOf("\n")) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      waiters.shift()?.(line);
    }
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      waiters.push(resolve);
      // reject: false, so proc never rejects: it resolves when the server exits.
      void proc.then(() => reject(new Error(`dhcp server exited: ${err}`)));
    });
  const ready = await nextLine();
  if (ready !== "ready") throw new Error(`dhcp server did not start: ${ready} ${err}`);
  return {
    proc,
    dir,
    stderr: () => err,
    async stats() {
      const p = nextLine();
      proc.stdin!.write("stats\n");
      return JSON.parse(await p);
    },
    traces() {
      return err
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc;
    },
  };
}
