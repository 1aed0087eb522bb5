// Real DHCP clients run in the client namespace, each pretending to be a
// PXE ROM through the options it sends, and reporting what it received
// through a hook script that dumps its environment.
import { chmodSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { requireTool } from "../../lib/tools.ts";
import type { TestNet } from "../../lib/netns.ts";

export type Env = Record<string, string>;

let calls = 0;

function hookScript(dir: string, name: string): { script: string; out: string } {
  calls += 1;
  const script = join(dir, `${name}-${calls}-hook.sh`);
  const out = join(dir, `${name}-${calls}-env.txt`);
  writeFileSync(script, `#!/bin/sh\n{ env; echo ---; } >> '${out}'\n`);
  chmodSync(script, 0o755);
  return { script, out };
}

/** The env blocks the hook saw; the last one with an address is the bound lease. */
function readEnvs(out: string): Env[] {
  if (!existsSync(out)) return [];
  return readFileSync(out, "utf8")
    .split("---\n")
    .filter(Boolean)
    .map((block) => {
      const env: Env = {};
      for (const line of block.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
      }
      return env;
    });
}

export async function udhcpc(net: TestNet, dir: string, extra: string[] = []): Promise<Env> {
  requireTool("udhcpc");
  const { script, out } = hookScript(dir, "udhcpc");
  await net.inClient(
    "udhcpc",
    ["-i", net.clientIf, "-n", "-q", "-f", "-t", "4", "-T", "1", "-s", script, ...extra],
    { timeout: 20_000 },
  );
  const env = readEnvs(out).findLast((e) => e.ip);
  if (!env) throw new Error(`udhcpc got no lease: ${readFileSync(out, "utf8")}`);
  return env;
}

export async function dhclient(net: TestNet, dir: string, confLines: string[] = []): Promise<Env> {
  requireTool("dhclient");
  const { script, out } = hookScript(dir, "dhclient");
  const conf = join(dir, "dhclient.conf");
  writeFileSync(conf, `${confLines.join("\n")}\n`);
  // -d keeps dhclient in the foreground (no daemon left behind); stop it
  // once the hook has seen the bound lease.
  const proc = net.inClient(
    "dhclient",
    [
      "-4",
      "-d",
      "-v",
      "-sf",
      script,
      "-cf",
      conf,
      "-lf",
      join(dir, "dhclient.leases"),
      "-pf",
      join(dir, "dhclient.pid"),
      net.clientIf,
    ],
    { reject: false, stdin: "ignore" },
  );
  let env: Env | undefined;
  for (let i = 0; i < 150 && !env; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    env = readEnvs(out).findLast((e) => e.new_ip_address);
  }
  proc.kill("SIGTERM");
  const r = await proc;
  if (!env) throw new Error(`dhclient got no lease: ${r.stderr}`);
  return env;
}

export async function dhcpcd(net: TestNet, dir: string, extra: string[] = []): Promise<Env> {
  requireTool("dhcpcd");
  const { script, out } = hookScript(dir, "dhcpcd");
  await net.inClient(
    "dhcpcd",
    [
      "-4",
      "-1",
      "-B",
      "-A",
      "-t",
      "15",
      "-c",
      script,
      "--nohook",
      "*",
      "-f",
      "/dev/null",
      ...extra,
      net.clientIf,
    ],
    { timeout: 25_000, reject: false },
  );
  const env = readEnvs(out).findLast((e) => e.new_ip_address);
  if (!env)
    throw new Error(
      `dhcpcd got no lease: ${existsSync(out) ? readFileSync(out, "utf8") : "no hook call"}`,
    );
  return env;
}
