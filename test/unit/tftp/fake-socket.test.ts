// The whole TFTP server (config, listening loop, transfers) driven through
// fake sockets and a fake clock: no network. server.test.ts runs it on
// loopback and test/integration/tftp against real clients.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTftpServer, type TftpTraceEvent } from "../../../server/tftp/index.ts";
import { decode, encodeAck, encodeRequest, type Packet } from "../../../server/tftp/packet.ts";
import { silentLog } from "../../../server/log.ts";
import { FakeUdpNet, type FakeUdpSocket } from "../../fakes/udp.ts";
import { waitFor } from "../../lib/wait.ts";
import { FakeClock } from "./fakes.ts";

let dir = "";
const file = Buffer.from(Array.from({ length: 1300 }, (_, i) => i & 0xff));
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "am-tftp-fake-"));
  await writeFile(join(dir, "undionly.kpxe"), file);
});
after(() => rm(dir, { recursive: true, force: true }));

const peer = { address: "10.77.0.50", port: 2070 };
// The server resolves the path and opens the transfer socket asynchronously:
// the tests wait for what they look at (waitFor), not a fixed time.

function packets(s: FakeUdpSocket): Packet[] {
  return s.take().map((x) => {
    assert.deepEqual(x.to, peer);
    const d = decode(x.msg);
    assert.ok(d.ok);
    return d.packet;
  });
}

test("RRQ -> DATA/ACK lock-step -> done, on a connected socket of its own", async () => {
  const net = new FakeUdpNet();
  const clock = new FakeClock();
  const traces: TftpTraceEvent[] = [];
  const srv = await startTftpServer(
    { root: dir, address: "10.77.0.1", port: 69 },
    { socket: net.open, clock, onTrace: (e) => traces.push(e) },
  );
  try {
    assert.equal(srv.port, 69);
    net.at("10.77.0.1", 69).deliver(encodeRequest("rrq", "undionly.kpxe", "octet"), peer);
    await waitFor("the first DATA", () => net.sockets[1]?.sent.length === 1);
    const t = net.sockets[1]!;
    assert.deepEqual(t.opts.connect, peer, "the transfer socket is connected to the client");
    for (const block of [1, 2, 3]) {
      const [p] = packets(t);
      assert.equal(p?.op, "data");
      if (p?.op !== "data") return;
      assert.equal(p.block, block);
      assert.deepEqual(p.data, file.subarray((block - 1) * 512, block * 512));
      t.deliver(encodeAck(block), peer);
    }
    assert.ok(t.closed, "the transfer socket closes after the last ACK");
    assert.deepEqual(
      traces.map((e) => e.what),
      ["rrq", "done"],
    );
    assert.deepEqual(srv.stats(), { transfers: 1, errors: 0, malformed: 0, active: 0 });
    assert.equal(clock.pending, 0, "no timer left behind");
  } finally {
    await srv.close();
  }
});

test("a missing file gets ERROR 1 from a fresh port; the listening port stays quiet", async () => {
  const net = new FakeUdpNet();
  const srv = await startTftpServer(
    { root: dir, address: "10.77.0.1", port: 69 },
    { socket: net.open, clock: new FakeClock() },
  );
  try {
    const main = net.at("10.77.0.1", 69);
    main.deliver(encodeRequest("rrq", "nothere.efi", "octet"), peer);
    await waitFor("the transfer socket closed", () => net.sockets[1]?.closed === true);
    assert.equal(main.sent.length, 0);
    const refusal = net.sockets[1]!;
    assert.deepEqual(packets(refusal), [{ op: "error", code: 1, message: "file not found" }]);
    assert.deepEqual(srv.stats(), { transfers: 0, errors: 1, malformed: 0, active: 0 });
  } finally {
    await srv.close();
  }
});

test("the config is validated: a typo is an error naming the field", async () => {
  await assert.rejects(
    startTftpServer({ root: dir, address: "10.77.0.1", maxBlksiz: 1468 } as never),
    /tftp config.*maxBlksiz/s,
  );
});

for (const how of ["error", "close"] as const) {
  test(`a listening socket that ${how === "error" ? "errors" : "closes"} underneath stops the server loudly`, async () => {
    const net = new FakeUdpNet();
    const errors: string[] = [];
    let fatal!: (err: Error) => void;
    const died = new Promise<Error>((res) => (fatal = res));
    await startTftpServer(
      { root: dir, address: "10.77.0.1", port: 69 },
      {
        socket: net.open,
        clock: new FakeClock(),
        onFatal: fatal,
        log: { ...silentLog, error: (_o, m) => errors.push(m ?? "") },
      },
    );
    // A transfer in flight is ended with the server.
    net.at("10.77.0.1", 69).deliver(encodeRequest("rrq", "undionly.kpxe", "octet"), peer);
    await waitFor("the first DATA", () => net.sockets[1]?.sent.length === 1);
    const main = net.at("10.77.0.1", 69);
    if (how === "error") main.emit("error", new Error("recvmsg EIO"));
    else main.close();
    const err = await died;
    const why = how === "error" ? "failed: recvmsg EIO" : "closed underneath the server";
    assert.equal(err.message, `tftp: socket 10.77.0.1:69 ${why}; the TFTP server has stopped`);
    assert.deepEqual(errors, [err.message]);
    assert.ok(net.sockets.every((s) => s.closed));
  });
}
