// Safety: the server answers only on its interface, refuses to start `full`
// mode beside another DHCP server unless forced, and its leases survive a
// restart.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createNamespace,
  createTestNet,
  deleteNamespace,
  ip,
  nsExec,
  uniqueName,
  type TestNet,
} from "../../lib/netns.ts";
import { requireTool } from "../../lib/tools.ts";
import { startDnsmasq, type Dnsmasq } from "../../lib/dnsmasq.ts";
import { messageType } from "../../../server/dhcp/codec.ts";
import { MsgType } from "../../../server/dhcp/options.ts";
import { udhcpc } from "./clients.ts";
import { baseConfig, startServerIn, tempDir, type ServerProc } from "./server-proc.ts";
import { pxeDiscover } from "./wire.ts";

const BIOS = ["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"];

describe("dhcp safety", () => {
  let net: TestNet;
  let other: string;
  const dir = tempDir();

  before(async () => {
    net = await createTestNet("am-dhcp");
    // A second segment on the server host (srv1) with a client of its own.
    other = `${uniqueName("am-dhcp")}-o`;
    await createNamespace(other);
    const a = `vo${process.pid % 100000}a`;
    const b = `vo${process.pid % 100000}b`;
    await ip(["link", "add", a, "type", "veth", "peer", "name", b]);
    await ip(["link", "set", a, "netns", net.server]);
    await ip(["link", "set", b, "netns", other]);
    await net.inServer("ip", ["link", "set", a, "name", "srv1"]);
    await net.inServer("ip", ["addr", "add", "10.78.0.1/24", "dev", "srv1"]);
    await net.inServer("ip", ["link", "set", "srv1", "up"]);
    await nsExec(other, "ip", ["link", "set", b, "name", "cli1"]);
    await nsExec(other, "ip", ["link", "set", "cli1", "up"]);
  });
  after(async () => {
    await deleteNamespace(other);
    await net?.close();
  });

  it("answers on its interface and never on another one of the same host", async () => {
    const srv = await startServerIn(net.server, baseConfig(dir), dir);
    try {
      const far = await nsExec(
        other,
        "udhcpc",
        ["-i", "cli1", "-n", "-q", "-f", "-t", "3", "-T", "1", "-s", "/bin/true", ...BIOS],
        {
          reject: false,
          timeout: 20_000,
        },
      );
      assert.notEqual(far.exitCode, 0, `a client on srv1 got an answer: ${far.stderr}`);
      assert.equal((await srv.stats()).stats.received, 0);
      const env = await udhcpc(net, dir, BIOS);
      assert.equal(env.serverid, "10.77.0.1");
    } finally {
      await srv.stop();
    }
  });

  it("leases survive a restart: the client's INIT-REBOOT is ACKed with the same address", async () => {
    const leaseDir = tempDir();
    const cfg = baseConfig(leaseDir);
    let srv = await startServerIn(net.server, cfg, leaseDir);
    const first = await udhcpc(net, leaseDir, BIOS);
    const { leases } = await srv.stats();
    await srv.stop();
    srv = await startServerIn(net.server, cfg, leaseDir);
    try {
      assert.deepEqual((await srv.stats()).leases, leases);
      // udhcpc -r: INIT-REBOOT style request for the old address.
      const again = await udhcpc(net, leaseDir, [...BIOS, "-r", first.ip!]);
      assert.equal(again.ip, first.ip);
      assert.ok(srv.traces().some((t) => t.what === "ack" && t.detail.ip === first.ip));
    } finally {
      await srv.stop();
    }
  });

  describe("with another DHCP server on the segment", () => {
    let dnsmasq: Dnsmasq;
    before(async () => {
      requireTool("dnsmasq");
      await net.inServer("ip", ["addr", "add", "10.77.0.2/24", "dev", "srv0"]);
      dnsmasq = await startDnsmasq(net.inServer, {
        iface: "srv0",
        range: "10.77.0.50,10.77.0.60,1h",
        leaseFile: join(dir, "dnsmasq.leases"),
      });
    });
    after(() => {
      dnsmasq?.stop();
    });

    it("refuses to start in full mode, naming the other server", async () => {
      await assert.rejects(
        startServerIn(net.server, baseConfig(dir, { probeMs: 1500 }), dir),
        /another DHCP server \(10\.77\.0\.\d.*refusing to start in full mode/s,
      );
    });

    it("starts anyway with force, and then answers", async () => {
      const srv: ServerProc = await startServerIn(
        net.server,
        baseConfig(dir, { force: true }),
        dir,
      );
      try {
        // a broadcast needs a route out of the client's namespace
        await net.inClient("ip", ["route", "replace", "default", "dev", "cli0"]);
        const got = await pxeDiscover(net.client, "02:bb:00:00:00:09");
        // Ours comes from our pool (10.77.0.100-199) with our boot file; dnsmasq's from its range.
        const ours = got.find(
          (g) =>
            messageType(g.packet) === MsgType.offer && /^10\.77\.0\.1\d\d$/.test(g.packet.yiaddr),
        );
        assert.ok(ours, `no offer from us: ${JSON.stringify(got.map((g) => g.packet.yiaddr))}`);
        assert.equal(ours.packet.file, "undionly.kpxe");
        assert.equal((await srv.stats()).stats.replied, 1);
      } finally {
        await srv.stop();
      }
    });
  });
});
