// /metrics and /healthz of the real `automagic serve`, run as a process in a
// network namespace: the counters move when real clients netboot (udhcpc,
// tftp, curl), and a TFTP port taken by another process shows as TFTP down
// on /healthz (503, with the bind error) until the port is free again.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { sample } from "../../lib/prom.ts";
import { requireTool } from "../../lib/tools.ts";
import { waitFor } from "../../lib/wait.ts";
import {
  BIOS_PXE,
  curlIn,
  netboot,
  SERVER,
  setMac,
  startNetbootBed,
  type NetbootBed,
} from "./netboot-client.ts";
import { cli, makeWorld, startServe, type Served, type World } from "./serve-process.ts";

const KNOWN = "52:54:00:a0:00:01"; // hosts/qemu-bios.yaml
const UNKNOWN = "52:54:00:77:77:02";
const ADMIN = { AUTOMAGIC_SERVER: "http://127.0.0.1:8080" };

/** /healthz once it is 200 (DHCP and TFTP start after HTTP); the last answer if it is not within `seconds`. */
async function healthy(net: TestNet, seconds = 20) {
  let r = await get(net, "/healthz");
  await waitFor("/healthz 200", async () => (r = await get(net, "/healthz")).status === 200, {
    timeoutMs: seconds * 1000,
    everyMs: 200,
  }).catch(() => undefined);
  return r;
}

/** GET on serve's loopback listener, from inside its namespace. */
async function get(net: TestNet, path: string): Promise<{ status: number; body: string }> {
  const r = await net.inServer("curl", [
    "-sS",
    "--max-time",
    "10",
    "-w",
    "\n%{http_code}",
    `http://127.0.0.1:8080${path}`,
  ]);
  const out = String(r.stdout);
  const cut = out.lastIndexOf("\n");
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
}

describe("metrics move with a real netboot", () => {
  let bed: NetbootBed;
  let net: TestNet;
  let dir: string;

  before(async () => {
    bed = await startNetbootBed("am-ops");
    ({ net, dir } = bed);
  });

  after(() => bed?.close());

  it("DHCP, TFTP, HTTP, decision, artifact and run counters before and after", async () => {
    const health = await healthy(net);
    assert.equal(health.status, 200, health.body);
    const h = JSON.parse(health.body);
    assert.equal(h.status, "ok");
    for (const c of ["dhcp", "tftp", "http", "store"]) assert.equal(h.components[c].state, "up", c);
    assert.equal(h.components.mirror.state, "off");

    const m0 = (await get(net, "/metrics")).body;
    assert.equal(sample(m0, "automagic_dhcp_received_total"), 0);
    assert.equal(sample(m0, "automagic_tftp_transfers_total"), 0);
    assert.equal(sample(m0, "automagic_boot_decisions_total", { decision: "local" }), undefined);
    assert.equal(sample(m0, "automagic_component_up", { component: "tftp" }), 1);

    // An unknown machine boots local; an armed one gets the image and fetches it.
    await setMac(net, UNKNOWN);
    assert.match(await netboot(net, dir, BIOS_PXE, UNKNOWN), /-> local \(/);
    const armed = await cli(["next", "qemu-bios", "install"], ADMIN, net.server);
    assert.equal(armed.exitCode, 0, armed.stderr);
    await setMac(net, KNOWN);
    const script = await netboot(net, dir, BIOS_PXE, KNOWN);
    assert.equal(await curlIn(net, /^kernel (\S+)/m.exec(script)![1]!), "test-kernel");
    const initrd = /^initrd --name initrd\.img (\S+)/m.exec(script)![1]!;
    await net.inClient("curl", ["-sS", "--fail", "-o", join(dir, "initrd"), initrd]);
    // Open to the machines' network too, like the boot routes (no token).
    const fromClient = await curlIn(net, `${SERVER}/metrics`);

    const m1 = (await get(net, "/metrics")).body;
    const n = (name: string, labels?: Record<string, string>) => sample(m1, name, labels) ?? 0;
    // Two machines, each a firmware and an iPXE lease: 4 DISCOVER/OFFER, 4 REQUEST/ACK.
    assert.ok(n("automagic_dhcp_received_total") >= 8, m1);
    assert.ok(n("automagic_dhcp_replied_total") >= 8, m1);
    assert.equal(n("automagic_tftp_transfers_total"), 2);
    assert.equal(n("automagic_tftp_active_transfers"), 0);
    assert.equal(n("automagic_boot_decisions_total", { decision: "local" }), 1);
    assert.equal(n("automagic_boot_decisions_total", { decision: "install" }), 1);
    assert.equal(n("automagic_http_requests_total", { route: "boot.ipxe", status: "200" }), 4);
    assert.equal(n("automagic_artifact_bytes_total", { file: "vmlinuz" }), "test-kernel".length);
    assert.equal(n("automagic_artifact_bytes_total", { file: "initrd.img" }), 64 * 1024);
    assert.equal(n("automagic_runs_active", { status: "booting" }), 1);
    assert.equal(n("automagic_runs_stalled"), 0);
    assert.match(fromClient, /^automagic_dhcp_received_total \d+$/m);
    assert.doesNotMatch(m1, new RegExp(`${KNOWN}|${UNKNOWN}|qemu-bios`), "no MAC or host name");
  });
});

describe("healthz: a TFTP port held by another process", () => {
  let net: TestNet;
  let world: World;
  let srv: Served | undefined;
  let blocker: ReturnType<TestNet["inServer"]> | undefined;

  before(async () => {
    requireTool("curl");
    world = makeWorld();
    net = await createTestNet("am-ops-t");
    // Another tftpd, as far as the kernel is concerned: 10.77.0.1:69 is taken.
    blocker = net.inServer("node", [
      "-e",
      `const s=require("dgram").createSocket("udp4");` +
        `s.bind(69,"10.77.0.1",()=>console.log("ready"));setTimeout(()=>{},600000)`,
    ]);
    await new Promise<void>((resolve) => blocker!.stdout!.once("data", () => resolve()));
    const cfg = join(world.dir, "serve.yaml");
    writeFileSync(cfg, "listen: 10.77.0.1\nhttp: { port: 8080 }\ntftp: { port: 69 }\n");
    srv = await startServe(world, ["--config", cfg], net.server);
  });

  after(async () => {
    blocker?.kill();
    await blocker?.catch(() => {});
    await srv?.stop();
    await net?.close();
    world?.close();
  });

  it("serve runs on; /healthz is 503 naming TFTP and the bind error, then 200 once the port is free", async () => {
    // TFTP starts (and fails to bind) just after HTTP: ask until it has tried.
    const r = await waitFor(
      "/healthz to name the bind error",
      async () => {
        const h = await get(net, "/healthz");
        return h.body.includes("cannot bind") && h;
      },
      { timeoutMs: 5_000, everyMs: 100 },
    );
    assert.equal(r.status, 503, r.body);
    const body = JSON.parse(r.body);
    assert.equal(body.status, "down");
    assert.equal(body.components.tftp.state, "down");
    assert.match(body.down[0], /^tftp: cannot bind 10\.77\.0\.1:69: .*EADDRINUSE/);
    assert.equal(body.components.dhcp.state, "off");
    assert.equal(body.components.http.state, "up");
    const m = (await get(net, "/metrics")).body;
    assert.equal(sample(m, "automagic_component_up", { component: "tftp" }), 0);

    blocker!.kill();
    await blocker!.catch(() => {});
    const last = await healthy(net, 30);
    assert.equal(last.status, 200, last.body);
    assert.equal(JSON.parse(last.body).components.tftp.state, "up");
  });
});
