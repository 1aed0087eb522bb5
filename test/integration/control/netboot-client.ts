// A machine netbooting from `serve` in the test net's server namespace, played
// by real clients in the client namespace: udhcpc as the firmware's and
// iPXE's DHCP, tftp for the first stage, curl for boot.ipxe.
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { requireTool } from "../../lib/tools.ts";
import { udhcpc } from "../dhcp/clients.ts";
import { fullDhcpConfig, makeWorld, startServe, type Served, type World } from "./serve-process.ts";

export const SERVER = "http://10.77.0.1:8080";

export interface BootPath {
  name: string;
  dhcp: string[];
  /** What the firmware fetches before iPXE runs. */
  firstStage?: { bootfile: string; via: "tftp" | "http" };
  buildarch: string;
}

export const BIOS_PXE: BootPath = {
  name: "BIOS PXE",
  dhcp: ["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"],
  firstStage: { bootfile: "undionly.kpxe", via: "tftp" },
  buildarch: "i386",
};

export interface NetbootBed {
  net: TestNet;
  world: World;
  srv: Served;
  /** Scratch folder for what the clients fetch. */
  dir: string;
  close(): Promise<void>;
}

/**
 * `serve` in full DHCP mode (pool .100-.150) on a fresh test net, ready for
 * clients; `serveYaml`: more top-level lines for its serve.yaml.
 */
export async function startNetbootBed(
  prefix: string,
  serveYaml: string[] = [],
): Promise<NetbootBed> {
  for (const t of ["udhcpc", "tftp", "curl"]) requireTool(t);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const world = makeWorld();
  const bed: Partial<NetbootBed> = { dir, world };
  const close = async () => {
    await bed.srv?.stop();
    await bed.net?.close();
    world.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    bed.net = await createTestNet(prefix);
    const cfg = fullDhcpConfig(world, [
      "force: true",
      "probeMs: 0",
      "subnet: { network: 10.77.0.0, prefixLen: 24, poolStart: 10.77.0.100, poolEnd: 10.77.0.150 }",
    ]);
    appendFileSync(cfg, serveYaml.map((l) => `${l}\n`).join(""));
    bed.srv = await startServe(world, ["--config", cfg], bed.net.server);
  } catch (err) {
    await close();
    throw err;
  }
  return { ...(bed as NetbootBed), close };
}

/** iPXE asking DHCP itself (user class iPXE): it gets the script URL. */
const IPXE_DHCP = [
  "-V",
  "PXEClient:Arch:00007:UNDI:003016",
  "-x",
  "0x4d:69505845",
  "-O",
  "bootfile",
];

export async function setMac(net: TestNet, mac: string): Promise<void> {
  await net.inClient("ip", ["link", "set", net.clientIf, "down"]);
  await net.inClient("ip", ["link", "set", net.clientIf, "address", mac]);
  await net.inClient("ip", ["link", "set", net.clientIf, "up"]);
}

export async function curlIn(net: TestNet, url: string): Promise<string> {
  const r = await net.inClient("curl", ["-sS", "--fail", "--max-time", "10", url], {
    stripFinalNewline: false,
  });
  return String(r.stdout);
}

/** Takes the lease like the firmware would (udhcpc's hook only reports it). */
async function lease(net: TestNet, dir: string, args: string[]) {
  const env = await udhcpc(net, dir, args);
  await net.inClient("ip", ["addr", "flush", "dev", net.clientIf]);
  await net.inClient("ip", ["addr", "add", `${env.ip}/24`, "dev", net.clientIf]);
  return env;
}

/** Walks one boot path as the firmware and iPXE would; returns the final script. */
export async function netboot(
  net: TestNet,
  dir: string,
  p: BootPath,
  mac: string,
): Promise<string> {
  if (p.firstStage) {
    const env = await lease(net, dir, p.dhcp);
    assert.equal(env.boot_file, p.firstStage.bootfile, `${p.name}: DHCP boot file`);
    const out = join(dir, `fetched-${Date.now()}`);
    if (p.firstStage.via === "tftp") {
      assert.equal(env.siaddr, "10.77.0.1");
      await net.inClient("tftp", [
        "-m",
        "binary",
        "10.77.0.1",
        "-c",
        "get",
        p.firstStage.bootfile,
        out,
      ]);
    } else {
      await net.inClient("curl", ["-sS", "--fail", "-o", out, p.firstStage.bootfile]);
    }
    const want = readFileSync(`/usr/lib/ipxe/${p.firstStage.bootfile.replace(/^.*\//, "")}`);
    assert.ok(readFileSync(out).equals(want), `${p.name}: first stage is the iPXE binary`);
  }
  const ipxe = await lease(net, dir, IPXE_DHCP);
  assert.equal(ipxe.boot_file, `${SERVER}/boot.ipxe`);
  const chain = await curlIn(net, ipxe.boot_file!);
  const next = /^chain (\S+) \|\|$/m.exec(chain)?.[1];
  assert.ok(next, chain);
  const url = next
    .replace("${netX/mac}", mac)
    .replace("${uuid}", "00000000-0000-0000-0000-000000000001")
    .replace("${buildarch}", p.buildarch);
  return curlIn(net, url);
}
