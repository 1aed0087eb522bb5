import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decode,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
} from "../../../server/tftp/packet.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

test("RRQ with options decodes from the bytes curl sends", () => {
  // 00 01 "snponly.efi\0octet\0tsize\00\0blksize\01468\0timeout\01\0"
  const bytes = Buffer.concat([
    hex("0001"),
    Buffer.from("snponly.efi\0octet\0tsize\x000\0blksize\x001468\0timeout\x001\0", "latin1"),
  ]);
  assert.deepEqual(decode(bytes), {
    ok: true,
    packet: {
      op: "rrq",
      filename: "snponly.efi",
      mode: "octet",
      options: [
        ["tsize", "0"],
        ["blksize", "1468"],
        ["timeout", "1"],
      ],
    },
  });
});

test("RRQ encodes byte for byte", () => {
  assert.deepEqual(
    encodeRequest("rrq", "a", "octet", [["blksize", "1468"]]),
    hex("0001 61 00 6f63746574 00 626c6b73697a65 00 31343638 00"),
  );
});

test("mode is lower-cased; NUL padding after the options is tolerated", () => {
  const bytes = Buffer.concat([
    hex("0001"),
    Buffer.from("f\0OCTET\0blksize\x008\0\0\0\0", "latin1"),
  ]);
  const d = decode(bytes);
  assert.ok(d.ok);
  assert.deepEqual(d.packet, {
    op: "rrq",
    filename: "f",
    mode: "octet",
    options: [["blksize", "8"]],
  });
});

test("WRQ decodes as a write request", () => {
  const d = decode(encodeRequest("wrq", "x", "octet"));
  assert.ok(d.ok && d.packet.op === "wrq");
});

test("requests without terminated filename and mode, or empty filename, are malformed", () => {
  for (const bad of [
    hex("0001"),
    Buffer.from("\0\x01abc", "latin1"),
    Buffer.from("\0\x01abc\0octet", "latin1"),
    Buffer.from("\0\x01\0octet\0", "latin1"),
    Buffer.concat([hex("0001 ff fe 00"), Buffer.from("octet\0")]), // invalid UTF-8 name
  ]) {
    const d = decode(bad);
    assert.equal(d.ok, false, bad.toString("hex"));
  }
});

test("DATA, ACK, ERROR and OACK round-trip", () => {
  assert.deepEqual(encodeData(0x1234, Buffer.from("hi")), hex("0003 1234 6869"));
  assert.deepEqual(encodeAck(65536 + 7), hex("0004 0007"));
  assert.deepEqual(
    encodeError(1, "file not found"),
    Buffer.concat([hex("0005 0001"), Buffer.from("file not found\0")]),
  );
  assert.deepEqual(
    encodeOack([["tsize", "10"]]),
    Buffer.concat([hex("0006"), Buffer.from("tsize\x0010\0")]),
  );
  assert.deepEqual(decode(hex("0003 0002 aabb")), {
    ok: true,
    packet: { op: "data", block: 2, data: hex("aabb") },
  });
  assert.deepEqual(decode(hex("0004 ffff")), { ok: true, packet: { op: "ack", block: 65535 } });
  assert.deepEqual(decode(Buffer.concat([hex("0005 0008"), Buffer.from("no\0")])), {
    ok: true,
    packet: { op: "error", code: 8, message: "no" },
  });
  assert.deepEqual(
    decode(
      encodeOack([
        ["blksize", "1468"],
        ["windowsize", "8"],
      ]),
    ),
    {
      ok: true,
      packet: {
        op: "oack",
        options: [
          ["blksize", "1468"],
          ["windowsize", "8"],
        ],
      },
    },
  );
});

test("an ERROR without its terminating NUL still decodes", () => {
  assert.deepEqual(decode(Buffer.concat([hex("0005 0000"), Buffer.from("abc")])), {
    ok: true,
    packet: { op: "error", code: 0, message: "abc" },
  });
});

test("short and unknown datagrams are rejected, never thrown", () => {
  for (const bad of [
    hex(""),
    hex("00"),
    hex("0003 00"),
    hex("0004 01"),
    hex("0005 00"),
    hex("0007 0000"),
    hex("0000"),
  ]) {
    const d = decode(bad);
    assert.equal(d.ok, false);
    assert.ok(!d.ok && d.reason.length > 0);
  }
});

test("decode survives 20,000 random datagrams", () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 20000; i++) {
    const len = rnd() % 64;
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++)
      b[j] = j === 0 ? 0 : j === 1 ? rnd() % 8 : rnd() % 4 === 0 ? 0 : rnd();
    decode(b);
  }
});
