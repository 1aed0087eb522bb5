// token-theft: an armed host's run token is asked for by another machine on
// the LAN naming the host's MAC (GET /boot.ipxe?mac=...), as issue #14 found
// anyone could. `automagic serve` runs from a config file in a namespace made
// here; the real machine and the attacker are two namespaces on the same
// segment (the attacker a macvlan with its own MAC), and a third source
// address is routed through the attacker (what a relayed client looks like:
// in no lease and no neighbour entry).
//   full    serve hands out the leases; the machine holds one (udhcpc)
//   proxy   another DHCP server's addresses; serve knows them by ARP only
//   relayed a routed source; the host file allows only its relay's subnet
// Each mode: ATTEMPTS requests from the attacker, counted tokens (must be
// 0), the action still armed afterwards, then the real machine gets its
// token (must be 1).
//   npx tsx test/chaos/token-theft.chaos.ts   (or: bash test/chaos/run.sh token-theft)
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { row } from "./row.ts";
import {
  createNamespace,
  createTestNet,
  deleteNamespace,
  nsExec,
  type TestNet,
} from "../lib/netns.ts";
import { requireTool } from "../lib/tools.ts";
import { cli, makeWorld, startServe, type World } from "../integration/control/serve-process.ts";

const ATTEMPTS = Number(process.env.ATTEMPTS ?? 200);
const HOST = "qemu-bios";
const MAC = "52:54:00:a0:00:01"; // hosts/qemu-bios.yaml
const ATTACKER_MAC = "52:54:00:66:66:66";
const URL = `http://10.77.0.1:8080/boot.ipxe?mac=${MAC}`;

type Mode = "full" | "proxy" | "relayed";

function config(world: World, mode: Mode): string {
  const file = join(world.dir, `serve-${mode}.yaml`);
  const dhcp =
    mode === "full"
      ? [
          "  mode: full",
          "  probeMs: 300",
          "  subnet: { network: 10.77.0.0, prefixLen: 24, poolStart: 10.77.0.100, poolEnd: 10.77.0.199 }",
        ]
      : ["  mode: proxy"];
  writeFileSync(
    file,
    [
      "interface: srv0",
      "listen: 10.77.0.1",
      "http: { port: 8080 }",
      "tftp: { enabled: false }",
      "dhcp:",
      ...dhcp,
      "",
    ].join("\n"),
  );
  return file;
}

/** `count` GETs of the boot script from a namespace (optionally from a chosen source address). */
async function ask(
  ns: string,
  count: number,
  from?: string,
): Promise<{ tokens: number; last: string }> {
  let tokens = 0;
  let last = "";
  for (let i = 0; i < count; i += 1) {
    const r = await nsExec(
      ns,
      "curl",
      ["-s", "--max-time", "5", ...(from ? ["--interface", from] : []), URL],
      { reject: false },
    );
    last = String(r.stdout);
    if (/automagic\.token=/.test(last)) tokens += 1;
  }
  return { tokens, last };
}

async function main(): Promise<void> {
  for (const t of ["curl", "ip", "udhcpc"]) requireTool(t);
  const world = makeWorld();
  // The relay's subnet: the real machine is allowed from there, nothing else is.
  appendFileSync(
    join(world.hostsDir, `${HOST}.yaml`),
    `\nnetboot:\n  allowFrom: ["10.60.0.0/24"]\n`,
  );
  let net: TestNet | undefined;
  const attacker = `am-atk-${process.pid % 100000}`;
  try {
    net = await createTestNet("am-theft");
    await net.inClient("ip", ["link", "set", net.clientIf, "address", MAC]);
    // The attacker: its own MAC on the same segment, in its own namespace.
    await createNamespace(attacker);
    await net.inClient("ip", [
      "link",
      "add",
      "atk0",
      "link",
      net.clientIf,
      "type",
      "macvlan",
      "mode",
      "bridge",
    ]);
    await net.inClient("ip", ["link", "set", "atk0", "netns", attacker]);
    const inAtk = (cmd: string, args: string[]) => nsExec(attacker, cmd, args);
    await inAtk("ip", ["link", "set", "atk0", "address", ATTACKER_MAC]);
    await inAtk("ip", ["addr", "add", "10.77.0.66/24", "dev", "atk0"]);
    await inAtk("ip", ["link", "set", "atk0", "up"]);
    // Routed sources behind the attacker (10.50.0.7) and behind the machine's relay (10.60.0.5).
    await inAtk("ip", ["addr", "add", "10.50.0.7/32", "dev", "lo"]);
    await net.inServer("ip", ["route", "add", "10.50.0.0/24", "via", "10.77.0.66"]);
    await net.inServer("ip", ["route", "add", "10.60.0.0/24", "via", "10.77.0.2"]);

    for (const mode of ["full", "proxy", "relayed"] as const) {
      const srv = await startServe(world, ["--config", config(world, mode)], net.server);
      try {
        const env = { AUTOMAGIC_SERVER: "http://127.0.0.1:8080" };
        const armed = await cli(["next", HOST, "install"], env, net.server);
        if (armed.exitCode !== 0) throw new Error(`arming failed: ${armed.stderr}`);
        // The real machine's address: a lease from serve (full), or a static one.
        await net.inClient("ip", ["addr", "flush", "dev", net.clientIf]);
        if (mode === "full") {
          const hook = join(world.dir, "udhcpc-hook.sh");
          writeFileSync(
            hook,
            '#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/24" dev "$interface"\nexit 0\n',
            { mode: 0o755 },
          );
          await net.inClient("udhcpc", [
            ...["-i", net.clientIf, "-n", "-q", "-t", "5", "-T", "1", "-s", hook],
            ...["-V", "PXEClient:Arch:00000:UNDI:002001"],
          ]);
        } else {
          await net.inClient("ip", ["addr", "add", "10.77.0.2/24", "dev", net.clientIf]);
          await net.inClient("ip", ["addr", "replace", "10.60.0.5/32", "dev", "lo"]);
        }
        const stolen =
          mode === "relayed"
            ? await ask(attacker, ATTEMPTS, "10.50.0.7")
            : await ask(attacker, ATTEMPTS);
        const st = await cli(["status", HOST, "--json"], env, net.server);
        const still = JSON.parse(String(st.stdout)).state as string;
        const real =
          mode === "relayed" ? await ask(net.client, 1, "10.60.0.5") : await ask(net.client, 1);
        const refusal = /-> local \((.*)\)/.exec(stolen.last)?.[1] ?? stolen.last.slice(0, 120);
        row(
          `token-theft (${mode})`,
          `${ATTEMPTS} GET /boot.ipxe?mac=<armed MAC> from another machine ` +
            (mode === "relayed"
              ? "via a routed source (10.50.0.7)"
              : "on the segment (10.77.0.66)"),
          `tokens to the attacker: ${stolen.tokens}; action afterwards: ${still}; ` +
            `the machine itself then got ${real.tokens} token; refusal: "${refusal.slice(0, 160)}"`,
          stolen.tokens === 0 && still === "armed:install" && real.tokens === 1,
        );
        await cli(["next", HOST, "local"], env, net.server);
      } finally {
        await srv.stop();
      }
    }
  } finally {
    await deleteNamespace(attacker);
    await net?.close();
    world.close();
  }
}

await main();
