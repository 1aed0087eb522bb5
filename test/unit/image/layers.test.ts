import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeArchiveToBuffer } from "../../../image-builder/cpio/newc.ts";
import {
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type CpioRecord,
} from "../../../image-builder/cpio/records.ts";
import {
  BUNDLE_TAIL_PATH,
  parentsOf,
  payloadLayerRecords,
} from "../../../image-builder/layers/overlay.ts";
import { bundleTail } from "../../../image-builder/payload/assemble.ts";
import {
  bundleTrailer,
  parseTrailer,
  TRAILER_LEN,
} from "../../../image-builder/payload/trailer.ts";

const rootfsFile = (name: string, mode: number): CpioRecord => ({
  name,
  mode,
  uid: 1000,
  gid: 1000,
  nlink: 1,
  mtime: 123,
  ino: 99,
  devMajor: 8,
  devMinor: 1,
  rdevMajor: 0,
  rdevMinor: 0,
  body: { kind: "bytes", bytes: Buffer.from("x") },
});

test("parentsOf lists outer directories first", () => {
  assert.deepEqual(parentsOf("usr/lib/automagic/boot"), ["usr", "usr/lib", "usr/lib/automagic"]);
  assert.deepEqual(parentsOf("init"), []);
});

test("payload layer: parents before children, root-owned, modes normalised, busybox init links", () => {
  const recs = payloadLayerRecords({
    rootfs: [
      rootfsFile("etc/inittab", S_IFREG | 0o664),
      rootfsFile("usr/lib/automagic/boot", S_IFREG | 0o775),
    ],
    bundleTail: bundleTail(Buffer.from("console.log(1)")),
    buildInfo: "{}",
    imageLabel: "test",
    mtime: 42,
  });
  const names = recs.map((r) => r.name);
  for (const [i, r] of recs.entries()) {
    for (const p of parentsOf(r.name)) assert.ok(names.indexOf(p) < i, `${p} precedes ${r.name}`);
    assert.equal(r.uid, 0);
    assert.equal(r.gid, 0);
    assert.equal(r.mtime, 42);
  }
  const byName = new Map(recs.map((r) => [r.name, r]));
  assert.equal(byName.get("etc/inittab")!.mode, S_IFREG | 0o644);
  assert.equal(byName.get("usr/lib/automagic/boot")!.mode, S_IFREG | 0o755);
  assert.equal(byName.get("usr")!.mode, S_IFDIR | 0o755);
  const init = byName.get("init")!;
  assert.equal(init.mode & S_IFMT, S_IFLNK);
  assert.deepEqual(init.body, { kind: "bytes", bytes: Buffer.from("usr/bin/busybox") });
  assert.ok(byName.has(BUNDLE_TAIL_PATH));
  assert.equal(new Set(recs.map((r) => r.ino)).size, recs.length, "distinct inode numbers");
});

test("bundle trailer round-trips and rejects other endings", () => {
  const t = bundleTrailer(1_468_537);
  assert.equal(t.length, TRAILER_LEN);
  assert.equal(t.toString(), "AUTOMAGIC-BUNDLE0000000000166879");
  assert.equal(parseTrailer(t), 1_468_537);
  assert.equal(parseTrailer(Buffer.alloc(32)), undefined);
  assert.equal(parseTrailer(Buffer.from("AUTOMAGIC-BUNDLE00000000000zzzzz")), undefined);
  const tail = bundleTail(Buffer.from("abc"));
  assert.equal(parseTrailer(tail.subarray(-TRAILER_LEN)), 3);
  assert.equal(tail.subarray(0, 3).toString(), "abc");
});

test("newc header fields: hex, 4-byte alignment, trailer", () => {
  const buf = encodeArchiveToBuffer([
    {
      name: "dev/console",
      mode: 0o020600,
      uid: 0,
      gid: 5,
      nlink: 1,
      mtime: 0x5f5e100,
      ino: 7,
      devMajor: 0,
      devMinor: 0,
      rdevMajor: 5,
      rdevMinor: 1,
      data: new Uint8Array(0),
    },
    {
      name: "a",
      mode: S_IFREG | 0o644,
      uid: 0,
      gid: 0,
      nlink: 1,
      mtime: 0,
      ino: 8,
      devMajor: 0,
      devMinor: 0,
      rdevMajor: 0,
      rdevMinor: 0,
      data: Buffer.from("hello"),
    },
  ]);
  const first = buf.subarray(0, 110).toString("latin1");
  assert.equal(
    first,
    "070701" +
      ["7", "2180", "0", "5", "1", "5F5E100", "0", "0", "0", "5", "1", "C", "0"]
        .map((h) => h.padStart(8, "0"))
        .join(""),
  );
  assert.equal(buf.subarray(110, 122).toString(), "dev/console\0");
  // 110 + 12 = 122 -> padded to 124; second header starts there
  assert.equal(buf.subarray(124, 130).toString(), "070701");
  const second = 124 + 110 + 2; // name "a\0", then pad to 4: 236 -> 236
  assert.equal(buf.subarray(second, second + 5).toString(), "hello");
  assert.match(buf.subarray(second + 8).toString("latin1"), /^070701.*TRAILER!!!\0/);
  assert.equal(buf.length % 4, 0);
});
