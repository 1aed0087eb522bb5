import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encodeAck, encodeError, encodeRequest } from "../../../server/tftp/packet.ts";
import { Transfer, type TransferResult } from "../../../server/tftp/transfer.ts";
import type { SessionParams } from "../../../server/tftp/session.ts";
import { FakeClock, FakeSocket } from "./fakes.ts";

const peer = { address: "10.0.0.2", port: 40000 };

function setup(over: Partial<SessionParams> = {}, data = Buffer.alloc(1300, 7)) {
  const clock = new FakeClock();
  const socket = new FakeSocket();
  const results: TransferResult[] = [];
  const params: SessionParams = {
    size: data.length,
    blksize: 512,
    windowsize: 1,
    timeoutMs: 1000,
    maxRetries: 2,
    firstRetries: 2,
    maxTimeoutMs: 4000,
    lifetimeMs: 300_000,
    oack: false,
    ...over,
  };
  const t = new Transfer({
    params,
    oack: params.oack ? [["blksize", String(params.blksize)]] : [],
    data,
    peer,
    socket,
    clock,
    onEnd: (r) => results.push(r),
  });
  t.start();
  return { t, clock, socket, results };
}

const blocks = (socket: FakeSocket) =>
  socket.take().map(({ msg }) => {
    const d = decode(msg);
    assert.ok(d.ok);
    return d.packet.op === "data" ? `${d.packet.block}:${d.packet.data.length}` : d.packet.op;
  });

test("sends the file block by block and reassembles byte-identical", () => {
  const data = Buffer.from(Array.from({ length: 1300 }, (_, i) => i & 0xff));
  const { t, socket, results, clock } = setup({}, data);
  const got: Buffer[] = [];
  for (let b = 1; results.length === 0; b++) {
    for (const { msg, port, address } of socket.take()) {
      assert.deepEqual([port, address], [peer.port, peer.address]);
      got.push(msg.subarray(4));
    }
    t.receive(encodeAck(b), peer);
  }
  assert.deepEqual(Buffer.concat(got), data);
  assert.deepEqual(results, [{ ok: true }]);
  assert.equal(socket.closed, true);
  assert.equal(clock.pending, 0);
});

test("a packet from a foreign TID gets ERROR 5 and does not disturb the transfer", () => {
  const { t, socket } = setup();
  socket.take();
  assert.equal(t.receive(encodeAck(1), { address: peer.address, port: 40001 }), "foreign");
  assert.equal(t.receive(encodeAck(1), { address: "10.0.0.3", port: peer.port }), "foreign");
  const errs = socket.take();
  assert.equal(errs.length, 2);
  assert.deepEqual(decode(errs[0]!.msg), {
    ok: true,
    packet: { op: "error", code: 5, message: "unknown transfer ID" },
  });
  assert.equal(errs[0]!.port, 40001);
  // An ERROR from a stranger is not answered (no error ping-pong).
  t.receive(encodeError(0, "x"), { address: "10.0.0.3", port: 1 });
  assert.equal(socket.take().length, 0);
  // The real peer carries on.
  t.receive(encodeAck(1), peer);
  assert.deepEqual(blocks(socket), ["2:512"]);
});

test("short and garbage datagrams from the peer are dropped, not thrown", () => {
  const { t, socket } = setup();
  socket.take();
  for (const bad of [
    Buffer.alloc(0),
    Buffer.from([0]),
    Buffer.from([0, 4, 1]),
    Buffer.from([9, 9, 9, 9]),
  ]) {
    assert.equal(t.receive(bad, peer), "malformed");
  }
  assert.equal(t.receive(encodeRequest("rrq", "x", "octet"), peer), "ignored");
  assert.equal(socket.take().length, 0);
});

test("retransmits on timeout with back-off, then gives up with an ERROR", () => {
  const { t, socket, clock, results } = setup({ maxRetries: 2 });
  assert.deepEqual(blocks(socket), ["1:512"]);
  t.receive(encodeAck(1), peer);
  assert.deepEqual(blocks(socket), ["2:512"]);
  clock.advance(999);
  assert.equal(socket.sent.length, 0);
  clock.advance(1);
  assert.deepEqual(blocks(socket), ["2:512"]);
  clock.advance(1999);
  assert.equal(socket.sent.length, 0);
  clock.advance(1);
  assert.deepEqual(blocks(socket), ["2:512"]);
  clock.advance(4000);
  assert.deepEqual(blocks(socket), ["error"]);
  assert.equal(results[0]?.ok, false);
  assert.equal(clock.pending, 0);
});

test("an ACK moves the deadline: no retransmission while the client keeps up", () => {
  const { t, socket, clock } = setup({ windowsize: 1 }, Buffer.alloc(512 * 5));
  for (let b = 1; b <= 4; b++) {
    clock.advance(900);
    t.receive(encodeAck(b), peer);
  }
  assert.deepEqual(blocks(socket), ["1:512", "2:512", "3:512", "4:512", "5:512"]);
});

test("OACK is retransmitted until ACK 0, then data flows in windows", () => {
  const { t, socket, clock } = setup({ oack: true, windowsize: 2 });
  assert.deepEqual(blocks(socket), ["oack"]);
  clock.advance(1000);
  assert.deepEqual(blocks(socket), ["oack"]);
  t.receive(encodeAck(0), peer);
  assert.deepEqual(blocks(socket), ["1:512", "2:512"]);
  t.receive(encodeAck(2), peer);
  assert.deepEqual(blocks(socket), ["3:276"]);
});

test("a client ERROR ends the transfer silently", () => {
  const { t, socket, results, clock } = setup();
  socket.take();
  t.receive(encodeError(8, "no"), peer);
  assert.equal(socket.sent.length, 0);
  assert.deepEqual(results, [{ ok: false, reason: "client sent error 8: no" }]);
  assert.equal(clock.pending, 0);
});

test("a peer that never answers gets the first packet at most 3 times and no ERROR", () => {
  // A spoofed RRQ: whoever owns the source address never ACKs. Every
  // packet we send is reflected at them, so we stop early and quietly.
  const { socket, clock, results } = setup({ maxRetries: 5, firstRetries: 2 });
  clock.advance(600_000);
  assert.deepEqual(blocks(socket), ["1:512", "1:512", "1:512"]);
  assert.deepEqual(results, [
    { ok: false, reason: "no answer to the first packet after 2 retransmissions" },
  ]);
  assert.equal(socket.closed, true);
  assert.equal(clock.pending, 0);
});

test("a transfer that outlives its lifetime ends with an ERROR although ACKs keep coming", () => {
  const { t, socket, clock, results } = setup(
    { blksize: 8, lifetimeMs: 10_000 },
    Buffer.alloc(8 * 1000),
  );
  // The client acknowledges every block just before our retransmission
  // timer would fire: it never times out, it only crawls.
  for (let b = 1; results.length === 0; b++) {
    clock.advance(900);
    t.receive(encodeAck(b), peer);
  }
  const sent = blocks(socket);
  assert.equal(sent.at(-1), "error");
  assert.deepEqual(results, [
    { ok: false, reason: "transfer exceeded its lifetime of 10 s (last acked block 11)" },
  ]);
  assert.equal(socket.closed, true);
  assert.equal(clock.pending, 0);
});
