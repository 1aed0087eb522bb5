// The whole server on loopback with the test client: no root, no namespaces.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { mkdtemp, rm, writeFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  startTftpServer,
  type TftpServer,
  type TftpTraceEvent,
} from "../../../server/tftp/index.ts";
import {
  decode,
  encodeAck,
  encodeRequest,
  type OptionList,
  type Packet,
} from "../../../server/tftp/packet.ts";
import { TftpError, tftpGet } from "../../lib/tftp-client.ts";
import { waitFor } from "../../lib/wait.ts";
import { FakeClock } from "./fakes.ts";

let dir = "";
let server: TftpServer;
const traces: TftpTraceEvent[] = [];
const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 0xff));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "am-tftp-srv-"));
  await writeFile(join(dir, "big.bin"), big);
  await writeFile(join(dir, "empty"), "");
  await symlink("/etc/passwd", join(dir, "passwd"));
  server = await startTftpServer(
    {
      root: dir,
      address: "127.0.0.1",
      port: 0,
      // Every client below comes from 127.0.0.1; the per-address bound has its own test.
      maxTransfersPerAddress: 64,
    },
    { onTrace: (e) => traces.push(e) },
  );
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const get = (file: string, options: [string, string][] = [], mode = "octet") =>
  tftpGet({ host: "127.0.0.1", port: server.port, file, options, mode });

test("serves a file lock-step, with blksize+tsize, and with windowsize", async () => {
  assert.deepEqual((await get("big.bin")).data, big);
  const r = await get("/big.bin", [
    ["blksize", "1468"],
    ["tsize", "0"],
  ]);
  assert.deepEqual(r.data, big);
  assert.deepEqual(r.oack, [
    ["blksize", "1468"],
    ["tsize", "300000"],
  ]);
  assert.notEqual(r.serverPort, server.port, "a transfer runs on its own port (TID)");
  const w = await get("big.bin", [
    ["blksize", "8192"],
    ["windowsize", "8"],
  ]);
  assert.deepEqual(w.data, big);
  assert.deepEqual((await get("empty")).data, Buffer.alloc(0));
});

test("many concurrent transfers all complete byte-identical", async () => {
  const all = await Promise.all(
    Array.from({ length: 40 }, (_, i) => get("big.bin", [["blksize", String(512 + i * 30)]])),
  );
  for (const r of all) assert.deepEqual(r.data, big);
});

test("errors: missing file, symlink out, traversal, bad mode", async () => {
  const code = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof TftpError, String(e));
    return e.code;
  };
  assert.equal(await code(get("nope")), 1);
  assert.equal(await code(get("passwd")), 2);
  assert.equal(await code(get("../../../../etc/passwd")), 2);
  assert.equal(await code(get("big.bin", [], "mail")), 4);
  const err = traces.find((t) => t.what === "error" && t.detail.file === "passwd");
  assert.ok(err && err.source === "tftp" && /outside/.test(String(err.detail.reason)));
});

test("write requests are refused with an ERROR; garbage is counted and dropped", async () => {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  try {
    const reply = new Promise<Buffer>((r) => sock.once("message", (m) => r(m)));
    sock.send(encodeRequest("wrq", "up.bin", "octet"), server.port, "127.0.0.1");
    assert.deepEqual(decode(await reply), {
      ok: true,
      packet: { op: "error", code: 2, message: "read-only server" },
    });
    const before = server.stats().malformed;
    for (const junk of [
      Buffer.alloc(0),
      Buffer.from([1]),
      Buffer.from([0, 1, 65]),
      Buffer.from([0, 99, 0, 0]),
    ]) {
      sock.send(junk, server.port, "127.0.0.1");
    }
    // Counted as each datagram arrives: wait for the count, not a fixed time.
    await waitFor("4 malformed counted", () => server.stats().malformed - before >= 4);
    assert.equal(server.stats().malformed - before, 4);
    assert.deepEqual((await get("empty")).data, Buffer.alloc(0), "still serving");
  } finally {
    sock.close();
  }
});

test("stats and trace count transfers", async () => {
  // The final ACK reaches the server just after the client has its data.
  await waitFor("no transfer active", () => server.stats().active === 0);
  const s = server.stats();
  assert.ok(s.transfers >= 45);
  assert.ok(s.errors >= 5);
  assert.equal(s.active, 0);
  assert.ok(traces.some((t) => t.what === "rrq") && traces.some((t) => t.what === "done"));
});

/** A raw client on `address` that sends one RRQ and hands back each reply, for the tests that misbehave on purpose. */
async function rawClient(address: string) {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, address, r));
  const inbox: Array<{ packet: Packet; port: number }> = [];
  const waiting: Array<() => void> = [];
  sock.on("message", (m, rinfo) => {
    const d = decode(m);
    if (d.ok) inbox.push({ packet: d.packet, port: rinfo.port });
    waiting.shift()?.();
  });
  return {
    rrq: (port: number, file: string, options: OptionList = []) =>
      sock.send(encodeRequest("rrq", file, "octet", options), port, "127.0.0.1"),
    ack: (port: number, block: number) => sock.send(encodeAck(block), port, "127.0.0.1"),
    next: async () => {
      while (inbox.length === 0) await new Promise<void>((r) => waiting.push(r));
      return inbox.shift()!;
    },
    close: () => sock.close(),
  };
}

test("a timeout option above the cap is left out of the OACK", async () => {
  const r = await get("empty", [
    ["timeout", "255"],
    ["tsize", "0"],
  ]);
  assert.deepEqual(r.oack, [["tsize", "0"]]);
});

test(
  "the 9th concurrent transfer from one address is refused; another address is served",
  { timeout: 20_000 },
  async () => {
    const srv = await startTftpServer({ root: dir, address: "127.0.0.1", port: 0 });
    const clients = await Promise.all(Array.from({ length: 9 }, () => rawClient("127.0.0.2")));
    try {
      const first: Packet[] = [];
      for (const c of clients) {
        c.rrq(srv.port, "big.bin");
        const r = await c.next();
        // Answer DATA 1 so the transfer is a live one, then go quiet.
        if (r.packet.op === "data") c.ack(r.port, 1);
        first.push(r.packet);
      }
      assert.deepEqual(
        first.map((p) => p.op),
        ["data", "data", "data", "data", "data", "data", "data", "data", "error"],
      );
      assert.deepEqual(first[8], {
        op: "error",
        code: 0,
        message: "too many transfers from your address",
      });
      assert.equal(srv.stats().active, 8);
      const other = await tftpGet({ host: "127.0.0.1", port: srv.port, file: "big.bin" });
      assert.deepEqual(other.data, big);
    } finally {
      for (const c of clients) c.close();
      await srv.close();
    }
  },
);

test(
  "a transfer past its lifetime is ended with an ERROR and its slot freed",
  { timeout: 20_000 },
  async () => {
    await writeFile(join(dir, "crawl.bin"), Buffer.alloc(800, 1));
    const clock = new FakeClock();
    const srv = await startTftpServer(
      {
        root: dir,
        address: "127.0.0.1",
        port: 0,
        maxTransferMs: 5000,
        maxTransfersPerAddress: 1,
      },
      { clock },
    );
    const c = await rawClient("127.0.0.3");
    try {
      c.rrq(srv.port, "crawl.bin", [["blksize", "8"]]);
      let r = await c.next();
      // ACK every packet, 0.9 s (of the fake clock) late: never a timeout, only a crawl.
      while (r.packet.op === "oack" || r.packet.op === "data") {
        clock.advance(900);
        c.ack(r.port, r.packet.op === "data" ? r.packet.block : 0);
        r = await c.next();
      }
      assert.deepEqual(r.packet, { op: "error", code: 0, message: "transfer took too long" });
      assert.equal(srv.stats().active, 0);
      // The address's one slot is free again.
      c.rrq(srv.port, "crawl.bin");
      assert.equal((await c.next()).packet.op, "data");
    } finally {
      c.close();
      await srv.close();
    }
  },
);
