import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, MIN_PACKET_LEN } from "../../../server/dhcp/codec.ts";
import { MsgType, Opt } from "../../../server/dhcp/options.ts";
import { decodeOk, request } from "./build.ts";

describe("dhcp codec", () => {
  it("round-trips a request and pads to the BOOTP minimum of 300 bytes", () => {
    const p = request(MsgType.discover, { arch: 7, vendorClass: "PXEClient:Arch:00007" });
    const bytes = encode(p);
    assert.equal(bytes.length, MIN_PACKET_LEN);
    assert.equal(bytes.readUInt32BE(236), 0x63825363);
    assert.deepEqual(decode(bytes), { ok: true, packet: p });
  });

  it("writes the fixed header at the RFC 2131 offsets", () => {
    const p = request(MsgType.request, { ciaddr: "10.0.0.5", giaddr: "10.9.0.1" });
    p.siaddr = "10.0.0.1";
    p.file = "undionly.kpxe";
    const b = encode(p);
    assert.deepEqual([...b.subarray(0, 4)], [1, 1, 6, 0]);
    assert.equal(b.readUInt32BE(4), 0x11223344);
    assert.deepEqual([...b.subarray(12, 16)], [10, 0, 0, 5]);
    assert.deepEqual([...b.subarray(20, 24)], [10, 0, 0, 1]);
    assert.deepEqual([...b.subarray(24, 28)], [10, 9, 0, 1]);
    assert.equal(b.subarray(28, 34).toString("hex"), "525400aabbcc");
    assert.equal(b.subarray(108, 121).toString(), "undionly.kpxe");
    assert.equal(b[121], 0);
    assert.deepEqual([...b.subarray(240, 243)], [53, 1, 3]);
  });

  it("splits options over 255 bytes and concatenates them back (RFC 3396)", () => {
    const p = request(MsgType.offer);
    const long = Buffer.alloc(600, 7);
    p.options.set(Opt.vendorSpecific, long);
    const b = encode(p);
    assert.equal(b[243], 43);
    assert.equal(b[244], 255);
    assert.deepEqual(decodeOk(b).options.get(Opt.vendorSpecific), long);
  });

  it("reads options carried in file and sname when option 52 says so", () => {
    const b = encode(request(MsgType.discover));
    // Put option 53 in `file` and 60 in `sname`, overload = 3 in the main area.
    const opts = Buffer.from([52, 1, 3, 255]);
    opts.copy(b, 240);
    Buffer.from([53, 1, 1, 255]).copy(b, 108);
    Buffer.from([60, 3, 0x41, 0x42, 0x43, 255]).copy(b, 44);
    const p = decodeOk(b);
    assert.deepEqual(p.options.get(Opt.messageType), Buffer.from([1]));
    assert.equal(p.options.get(Opt.vendorClass)?.toString(), "ABC");
    assert.equal(p.file, "");
    assert.equal(p.sname, "");
  });

  const bad: Array<[string, (b: Buffer) => Buffer, string]> = [
    ["empty datagram", () => Buffer.alloc(0), "length"],
    ["one byte", () => Buffer.from([1]), "length"],
    ["header without cookie", (b) => b.subarray(0, 239), "length"],
    ["wrong op", (b) => (b.writeUInt8(3, 0), b), "op"],
    ["hlen > 16", (b) => (b.writeUInt8(17, 2), b), "hlen"],
    ["no magic cookie", (b) => (b.writeUInt32BE(0, 236), b), "cookie"],
    [
      "option runs past end",
      (b) => Buffer.concat([b.subarray(0, 240), Buffer.from([60, 9, 1])]),
      "options",
    ],
    [
      "option without length",
      (b) => Buffer.concat([b.subarray(0, 240), Buffer.from([53])]),
      "options",
    ],
    [
      "no end option",
      (b) => Buffer.concat([b.subarray(0, 240), Buffer.from([53, 1, 1])]),
      "options",
    ],
    [
      "bad overload",
      (b) => Buffer.concat([b.subarray(0, 240), Buffer.from([52, 1, 9, 255])]),
      "overload",
    ],
  ];
  for (const [name, mutate, field] of bad) {
    it(`returns a failure for ${name} naming '${field}'`, () => {
      const d = decode(mutate(encode(request(MsgType.discover))));
      if (d.ok) return assert.fail("decoded");
      assert.equal(d.field, field);
      assert.match(d.reason, new RegExp(`^${field} at byte ${d.offset}: `));
    });
  }

  it("returns a failure, never throws, for 20,000 random and mutated datagrams", () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const good = encode(request(MsgType.discover, { vendorClass: "PXEClient" }));
    let failed = 0;
    for (let i = 0; i < 20_000; i++) {
      // Half random bytes, half a real DISCOVER with a few bytes changed.
      const b = i % 2 ? Buffer.from(good) : Buffer.alloc(rnd() + rnd());
      if (i % 2) for (let k = 0; k < 4; k++) b[240 + (rnd() % (b.length - 240))] = rnd();
      else for (let j = 0; j < b.length; j++) b[j] = rnd();
      if (!decode(b).ok) failed += 1;
    }
    assert.ok(failed > 10_000, `${failed} of 20,000 failed`);
  });

  it("refuses to encode a file name that does not fit with its NUL", () => {
    const p = request(MsgType.offer);
    p.file = "x".repeat(128);
    assert.throws(() => encode(p), /file .* exceeds 127 bytes/);
  });
});

/** Bytes of every Buffer created (alloc*, concat, from) while `fn` runs. */
function bytesAllocatedBy(fn: () => void): number {
  const spies = (["alloc", "allocUnsafe", "allocUnsafeSlow", "concat", "from"] as const).map(
    (name) => mock.method(Buffer, name),
  );
  try {
    fn();
    return spies.reduce(
      (sum, s) => sum + s.mock.calls.reduce((n, c) => n + (c.result as Buffer).length, 0),
      0,
    );
  } finally {
    for (const s of spies) s.mock.restore();
  }
}

/** A DISCOVER whose option area holds `chunks` instances of option 60, one byte each. */
function repeatedOption60(chunks: number): { packet: Buffer; joined: Buffer } {
  const head = encode(request(MsgType.discover)).subarray(0, 243); // header, cookie, 53
  const joined = Buffer.from(Array.from({ length: chunks }, (_, i) => i % 251));
  const area = Buffer.alloc(chunks * 3 + 1);
  for (let i = 0; i < chunks; i += 1) area.set([Opt.vendorClass, 1, joined[i]!], i * 3);
  area[chunks * 3] = Opt.end;
  return { packet: Buffer.concat([head, area]), joined };
}

describe("dhcp codec: RFC 3396 repeated options at linear cost", () => {
  it("joins 10,000 chunks of one option into their concatenation", () => {
    const { packet, joined } = repeatedOption60(10_000);
    const p = decodeOk(packet);
    assert.deepEqual(p.options.get(Opt.vendorClass), joined);
    assert.deepEqual(p.options.get(Opt.messageType), Buffer.from([MsgType.discover]));
  });

  it("allocates bytes in proportion to the datagram, not to chunks squared", () => {
    // Joining on every repeat copied 1 + 2 + ... + n bytes (50 MB for these
    // 10,000 chunks, ~90 ms of CPU for one maximum-size datagram).
    const { packet } = repeatedOption60(10_000);
    const bytes = bytesAllocatedBy(() => decode(packet));
    assert.ok(bytes <= 2 * packet.length, `decode allocated ${bytes} bytes for ${packet.length}`);
  });

  it("joins chunks across the option area, file and sname in that order", () => {
    const b = encode(request(MsgType.discover));
    Buffer.from([52, 1, 3, 60, 2, 0x41, 0x42, 255]).copy(b, 240);
    Buffer.from([60, 1, 0x43, 60, 1, 0x44, 255]).copy(b, 108);
    Buffer.from([60, 1, 0x45, 255]).copy(b, 44);
    assert.equal(decodeOk(b).options.get(Opt.vendorClass)?.toString(), "ABCDE");
  });
});
