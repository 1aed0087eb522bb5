// >= 100,000 random and mutated packets at port 67 (full mode) and at 4011
// (proxy mode): the server counts and drops the malformed ones, never
// crashes, and still serves a real client afterwards.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { udhcpc } from "./clients.ts";
import { baseConfig, startServerIn, tempDir } from "./server-proc.ts";
import { exchange } from "./wire.ts";
import { request } from "../../unit/dhcp/build.ts";
import { messageType } from "../../../server/dhcp/codec.ts";
import { MsgType } from "../../../server/dhcp/options.ts";

const SENDER = join(import.meta.dirname, "fuzz-sender.ts");
const MAC = "52:54:00:fe:00:01";
// FUZZ_COUNT only shortens the run while debugging; the suite uses 100,000.
const COUNT = Number(process.env.FUZZ_COUNT ?? 100_000);

describe("dhcp fuzz", () => {
  let net: TestNet;
  const dir = tempDir();

  before(async () => {
    net = await createTestNet("am-dhcp");
    await net.inClient("ip", ["link", "set", "cli0", "address", MAC]);
  });
  after(async () => {
    await net?.close();
  });

  it("survives 100,000 random and mutated packets on 67 and still serves udhcpc", async () => {
    const cfg = baseConfig(dir, { quietTrace: true, reservations: { [MAC]: "10.77.0.42" } });
    const srv = await startServerIn(net.server, cfg, dir);
    try {
      await net.inClient("ip", ["addr", "add", "10.77.0.2/24", "dev", "cli0"]);
      const r = await net.inClient(
        process.execPath,
        [
          "--import",
          "tsx",
          SENDER,
          "--to",
          "10.77.0.1:67",
          "--count",
          String(COUNT),
          "--seed",
          "7",
        ],
        {
          timeout: 300_000,
        },
      );
      assert.equal(JSON.parse(String(r.stdout)).sent, COUNT);
      await net.inClient("ip", ["addr", "flush", "dev", "cli0"]);
      const { stats } = await srv.stats();
      // The kernel may drop some under the burst; most must reach the server.
      assert.ok(stats.received > 0.8 * COUNT, JSON.stringify(stats));
      assert.ok(stats.malformed > 0.2 * COUNT, JSON.stringify(stats));
      assert.equal(stats.errors, 0, srv.stderr());
      const env = await udhcpc(net, dir, [
        "-V",
        "PXEClient:Arch:00000:UNDI:002001",
        "-x",
        "0x5d:0000",
      ]).catch(async (e: Error) => {
        const after = await srv.stats();
        const tcp = (await net.inServer("ip", ["neigh"])).stdout;
        throw new Error(
          `${e.message}\nstats before ${JSON.stringify(stats)} after ${JSON.stringify(after.stats)}\n${String(tcp).slice(0, 2000)}\n${srv.stderr().slice(-2000)}`,
          { cause: e },
        );
      });
      assert.equal(env.ip, "10.77.0.42");
      assert.equal(env.boot_file, "undionly.kpxe");
    } finally {
      await srv.stop();
    }
  });

  it("survives 20,000 packets on 4011 in proxy mode and still answers a PXE request", async () => {
    const srv = await startServerIn(
      net.server,
      baseConfig(dir, { mode: "proxy", subnet: undefined, quietTrace: true }),
      dir,
    );
    try {
      await net.inClient("ip", ["addr", "add", "10.77.0.2/24", "dev", "cli0"]);
      await net.inClient(
        process.execPath,
        ["--import", "tsx", SENDER, "--to", "10.77.0.1:4011", "--count", "20000", "--seed", "11"],
        {
          timeout: 120_000,
        },
      );
      const { stats } = await srv.stats();
      assert.ok(stats.received > 15_000 && stats.malformed > 4_000, JSON.stringify(stats));
      assert.equal(stats.errors, 0, srv.stderr());
      const req = request(MsgType.request, {
        vendorClass: "PXEClient:Arch:00007",
        arch: 7,
        ciaddr: "10.77.0.2",
      });
      const [ack] = await exchange(net.client, [req], {
        bind: "10.77.0.2:68",
        to: "10.77.0.1:4011",
      });
      assert.equal(messageType(ack!.packet), MsgType.ack);
      assert.equal(ack!.packet.file, "snponly.efi");
    } finally {
      await srv.stop();
      await net.inClient("ip", ["addr", "flush", "dev", "cli0"]);
    }
  });
});
