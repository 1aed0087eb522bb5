// The datagram cap: a request longer than the link carries (MTU 1500 ->
// 1,472 bytes of DHCP) is dropped before it is decoded, counted, and logged
// a bounded number of times; one that fits is answered however many
// repeated options it holds.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createTestNet, nsExec, type TestNet } from "../../lib/netns.ts";
import { udhcpc } from "./clients.ts";
import { baseConfig, startServerIn, tempDir } from "./server-proc.ts";
import { decodeOk, request } from "../../unit/dhcp/build.ts";
import { encode, messageType } from "../../../server/dhcp/codec.ts";
import { macOf } from "../../../server/dhcp/ip.ts";
import { MsgType } from "../../../server/dhcp/options.ts";

const SEND_RECV = join(import.meta.dirname, "send-recv.ts");
const SENDER = join(import.meta.dirname, "fuzz-sender.ts");
const MAC = "52:54:00:fe:00:02";

/** A DISCOVER from `mac` carrying option 224 in four 255-byte instances, zero-padded to `size`. */
function discoverOf(mac: string, size: number): Buffer {
  const b = encode(request(MsgType.discover, { mac, extra: [[224, Buffer.alloc(1000, 1)]] }));
  return Buffer.concat([b, Buffer.alloc(size - b.length)]);
}

/** Sends raw datagrams from the client namespace; the MACs of the OFFERs that came back. */
async function offeredTo(net: TestNet, datagrams: Buffer[]): Promise<string[]> {
  const args = ["--import", "tsx", SEND_RECV, "--bind", "0.0.0.0:68", "--to", "10.77.0.1:67"];
  for (const d of datagrams) args.push("--hex", d.toString("hex"));
  const r = await nsExec(net.client, process.execPath, args, { timeout: 30_000 });
  const got = JSON.parse(String(r.stdout)) as Array<{ hex: string }>;
  return got
    .map((g) => decodeOk(Buffer.from(g.hex, "hex")))
    .filter((p) => messageType(p) === MsgType.offer)
    .map((p) => macOf(p.chaddr, p.hlen));
}

describe("dhcp datagram cap", () => {
  let net: TestNet;
  const dir = tempDir();

  before(async () => {
    net = await createTestNet("am-dhcp");
    await net.inClient("ip", ["link", "set", "cli0", "address", MAC]);
    await net.inClient("ip", ["addr", "add", "10.77.0.2/24", "dev", "cli0"]);
  });
  after(async () => {
    await net?.close();
  });

  it("answers a 1,472-byte DISCOVER and drops a 1,473-byte one unread", async () => {
    const srv = await startServerIn(net.server, baseConfig(dir, { quietTrace: true }), dir);
    try {
      const fits = discoverOf("52:54:00:00:00:01", 1472);
      const over = discoverOf("52:54:00:00:00:02", 1473);
      assert.deepEqual(await offeredTo(net, [fits, over]), ["52:54:00:00:00:01"]);
      const { stats } = await srv.stats();
      assert.equal(stats.received, 2);
      assert.equal(stats.oversized, 1);
      assert.equal(stats.malformed, 0);
    } finally {
      await srv.stop();
    }
  });

  it("drops a flood of 65,507-byte datagrams with one log line and still serves udhcpc", async () => {
    const srv = await startServerIn(
      net.server,
      baseConfig(dir, { quietTrace: true, reservations: { [MAC]: "10.77.0.42" } }),
      dir,
    );
    try {
      // Every datagram long: half the longest UDP payload (dropped), half
      // 1,472 bytes (decoded, ~490 instances of one option each).
      await net.inClient(
        process.execPath,
        ["--import", "tsx", SENDER, "--to", "10.77.0.1:67", "--count", "400"].concat([
          "--big-every",
          "1",
          "--rate",
          "400",
          "--seed",
          "5",
        ]),
        { timeout: 60_000 },
      );
      const { stats } = await srv.stats();
      assert.ok(stats.oversized >= 100 && stats.oversized <= 200, JSON.stringify(stats));
      assert.ok(stats.received - stats.oversized >= 100, JSON.stringify(stats));
      assert.equal(stats.errors, 0, srv.stderr());
      const dropLines = srv
        .stderr()
        .split("\n")
        .filter((l) => /dropped/.test(l));
      assert.ok(dropLines.length >= 1 && dropLines.length <= 2, dropLines.join("\n"));
      const env = await udhcpc(net, dir);
      assert.equal(env.ip, "10.77.0.42");
    } finally {
      await srv.stop();
    }
  });
});
