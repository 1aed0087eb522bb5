// Proxy mode beside a real DHCP server: dnsmasq (in the server namespace,
// server id 10.77.0.1, the interface's primary address) hands out
// addresses; we (server id 10.77.0.3) answer PXE clients with boot
// information only, on 67 and 4011, and never give an address.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { messageType } from "../../../server/dhcp/codec.ts";
import { MsgType, Opt } from "../../../server/dhcp/options.ts";
import { startDnsmasq, type Dnsmasq } from "../../lib/dnsmasq.ts";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { requireTool } from "../../lib/tools.ts";
import { request } from "../../unit/dhcp/build.ts";
import { udhcpc } from "./clients.ts";
import { baseConfig, startServerIn, tempDir, type ServerProc } from "./server-proc.ts";
import { exchange, pxeDiscover } from "./wire.ts";

describe("dhcp proxy mode beside dnsmasq", () => {
  let net: TestNet;
  let srv: ServerProc;
  let dnsmasq: Dnsmasq;
  const dir = tempDir();

  before(async () => {
    requireTool("dnsmasq");
    net = await createTestNet("am-dhcp");
    await net.inServer("ip", ["addr", "add", "10.77.0.3/24", "dev", "srv0"]);
    dnsmasq = await startDnsmasq(net.inServer, {
      iface: "srv0",
      range: "10.77.0.50,10.77.0.60,1h",
      leaseFile: join(dir, "dnsmasq.leases"),
      authoritative: true,
    });
    srv = await startServerIn(
      net.server,
      baseConfig(dir, {
        mode: "proxy",
        subnet: undefined,
        serverIp: "10.77.0.3",
        tftpServer: "10.77.0.3",
      }),
      dir,
    );
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    dnsmasq?.stop();
    await net?.close();
  });

  it("a PXE DISCOVER gets dnsmasq's address offer and our boot-only offer", async () => {
    await net.inClient("ip", ["route", "add", "default", "dev", "cli0"]);
    const got = await pxeDiscover(net.client, "02:bb:00:00:00:01");
    const offers = got.filter((g) => messageType(g.packet) === MsgType.offer);
    const sid = (g: (typeof offers)[number]) => [...g.packet.options.get(Opt.serverId)!].join(".");
    const theirs = offers.find((g) => sid(g) === "10.77.0.1");
    const ours = offers.find((g) => sid(g) === "10.77.0.3");
    assert.ok(theirs, `no address offer from dnsmasq: ${JSON.stringify(got.map((g) => sid(g)))}`);
    assert.match(theirs.packet.yiaddr, /^10\.77\.0\.(5\d|60)$/);
    assert.ok(ours, "no proxy offer from us");
    assert.equal(ours.packet.yiaddr, "0.0.0.0");
    assert.equal(ours.packet.siaddr, "10.77.0.3");
    assert.equal(ours.packet.file, "undionly.kpxe");
    assert.equal(ours.packet.options.get(Opt.vendorClass)?.toString(), "PXEClient");
    assert.equal(ours.packet.options.has(Opt.leaseTime), false);
  });

  it("a plain client gets its lease from dnsmasq, and nothing from us", async () => {
    const before = (await srv.stats()).stats.replied;
    const env = await udhcpc(net, dir, []);
    assert.match(env.ip!, /^10\.77\.0\.(5\d|60)$/);
    assert.equal(env.serverid, "10.77.0.1");
    assert.equal((await srv.stats()).stats.replied, before);
  });

  it("a PXE client with its address asks on 4011 and gets an ACK by unicast", async () => {
    await net.inClient("ip", ["addr", "replace", "10.77.0.55/24", "dev", "cli0"]);
    const req = request(MsgType.request, {
      vendorClass: "PXEClient:Arch:00007:UNDI:003016",
      arch: 7,
      ciaddr: "10.77.0.55",
      mac: "02:bb:00:00:00:02",
    });
    const [ack, ...rest] = await exchange(net.client, [req], {
      bind: "10.77.0.55:68",
      to: "10.77.0.3:4011",
    });
    assert.equal(rest.length, 0);
    assert.ok(ack, `no ACK on 4011: ${srv.stderr()}`);
    assert.equal(ack.from, "10.77.0.3");
    assert.equal(ack.port, 4011);
    assert.equal(messageType(ack.packet), MsgType.ack);
    assert.equal(ack.packet.file, "snponly.efi");
    assert.equal(ack.packet.yiaddr, "0.0.0.0");
  });
});
