// A relayed request (giaddr set, sent from port 67 by a relay on another
// subnet) is answered by unicast to the relay on port 67, with an address
// from the subnet giaddr belongs to.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { messageType } from "../../../server/dhcp/codec.ts";
import { MsgType } from "../../../server/dhcp/options.ts";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { request } from "../../unit/dhcp/build.ts";
import { baseConfig, startServerIn, tempDir, type ServerProc } from "./server-proc.ts";
import { exchange } from "./wire.ts";

describe("dhcp relay (giaddr)", () => {
  let net: TestNet;
  let srv: ServerProc;
  const dir = tempDir();

  before(async () => {
    net = await createTestNet("am-dhcp");
    // The relay sits in the client namespace: 10.77.0.2 towards the server,
    // 10.88.0.1 on the (simulated) remote segment; the server routes 10.88/24 to it.
    await net.inClient("ip", ["addr", "add", "10.77.0.2/24", "dev", "cli0"]);
    await net.inClient("ip", ["addr", "add", "10.88.0.1/24", "dev", "lo"]);
    await net.inServer("ip", ["route", "add", "10.88.0.0/24", "via", "10.77.0.2"]);
    const cfg = baseConfig(dir, {
      relaySubnets: [
        {
          network: "10.88.0.0",
          prefixLen: 24,
          poolStart: "10.88.0.100",
          poolEnd: "10.88.0.150",
          router: "10.88.0.1",
        },
      ],
    });
    srv = await startServerIn(net.server, cfg, dir);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await net?.close();
  });

  it("answers DISCOVER and REQUEST to the relay's port 67 from the relay's pool", async () => {
    const pxe = {
      vendorClass: "PXEClient:Arch:00007:UNDI:003016",
      arch: 7,
      giaddr: "10.88.0.1",
      mac: "02:aa:00:00:00:01",
    };
    const [offer, ...rest] = await exchange(net.client, [request(MsgType.discover, pxe)], {
      bind: "10.88.0.1:67",
      to: "10.77.0.1:67",
    });
    assert.equal(rest.length, 0);
    assert.ok(offer, "no OFFER reached the relay");
    assert.equal(offer.from, "10.77.0.1");
    assert.equal(offer.port, 67);
    assert.equal(messageType(offer.packet), MsgType.offer);
    assert.equal(offer.packet.giaddr, "10.88.0.1");
    assert.equal(offer.packet.yiaddr, "10.88.0.100");
    assert.equal(offer.packet.file, "snponly.efi");
    const [ack] = await exchange(
      net.client,
      [request(MsgType.request, { ...pxe, requestedIp: "10.88.0.100", serverId: "10.77.0.1" })],
      { bind: "10.88.0.1:67", to: "10.77.0.1:67" },
    );
    assert.equal(messageType(ack!.packet), MsgType.ack);
    assert.equal(ack!.packet.yiaddr, "10.88.0.100");
    const { leases } = await srv.stats();
    assert.ok(leases.some((l) => l.mac === "02:aa:00:00:00:01" && l.ip === "10.88.0.100"));
  });

  it("ignores a relay on a subnet it does not serve", async () => {
    await net.inClient("ip", ["addr", "add", "10.99.0.1/24", "dev", "lo"]);
    await net.inServer("ip", ["route", "add", "10.99.0.0/24", "via", "10.77.0.2"]);
    const got = await exchange(net.client, [request(MsgType.discover, { giaddr: "10.99.0.1" })], {
      bind: "10.99.0.1:67",
      to: "10.77.0.1:67",
      waitMs: 800,
    });
    assert.deepEqual(got, []);
  });
});
