import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRange } from "../../../server/http/range.ts";
import { closeSync, openSync, utimesSync, writeSync } from "node:fs";
import { join } from "node:path";
import { raw, startHarness, type Harness } from "./harness.ts";
import { sha256 } from "../../../shared/hash.ts";

test("parseRange", () => {
  assert.deepEqual(parseRange(undefined, 10), { kind: "none" });
  assert.deepEqual(parseRange("bytes=0-3", 10), { kind: "range", start: 0, end: 3 });
  assert.deepEqual(parseRange("bytes=5-", 10), { kind: "range", start: 5, end: 9 });
  assert.deepEqual(parseRange("bytes=-4", 10), { kind: "range", start: 6, end: 9 });
  assert.deepEqual(parseRange("bytes=-40", 10), { kind: "range", start: 0, end: 9 });
  assert.deepEqual(parseRange("bytes=3-99", 10), { kind: "range", start: 3, end: 9 });
  assert.deepEqual(parseRange("bytes=10-", 10), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=-0", 10), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=5-2", 10), { kind: "none" });
  assert.deepEqual(parseRange("bytes=0-1,3-4", 10), { kind: "none" });
  assert.deepEqual(parseRange("items=0-1", 10), { kind: "none" });
});

for (const [how, artifactCacheBytes] of [
  ["streamed from disk", 0],
  ["from the shared in-memory copy", 1 << 20],
] as const) {
  test(`artifacts ${how}: content address, Range, ETag, conditional requests, HEAD`, async (t) => {
    const h = await startHarness({ config: { artifactCacheBytes } });
    t.after(() => h.close());
    const sha = sha256(h.initrd);
    const path = `/images/img-1/${sha.slice(0, 16)}/initrd.img`;
    const full = await raw(h.url, path);
    assert.equal(full.status, 200);
    assert.ok(full.body.equals(h.initrd));
    assert.equal(full.headers.etag, `"${sha}"`);
    assert.equal(full.headers["accept-ranges"], "bytes");
    assert.match(String(full.headers["cache-control"]), /immutable/);
    const part = await raw(h.url, path, { range: "bytes=100-199" });
    assert.equal(part.status, 206);
    assert.equal(part.headers["content-range"], `bytes 100-199/${h.initrd.length}`);
    assert.ok(part.body.equals(h.initrd.subarray(100, 200)));
    const tail = await raw(h.url, path, { range: "bytes=-10" });
    assert.ok(tail.body.equals(h.initrd.subarray(h.initrd.length - 10)));
    const bad = await raw(h.url, path, { range: `bytes=${h.initrd.length}-` });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers["content-range"], `bytes */${h.initrd.length}`);
    assert.equal((await raw(h.url, path, { "if-none-match": `"${sha}"` })).status, 304);
    const ifr = await raw(h.url, path, { range: "bytes=0-0", "if-range": '"other"' });
    assert.equal(ifr.status, 200);
    const head = await raw(h.url, path, {}, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], String(h.initrd.length));
    assert.equal(head.body.length, 0);
  });
}

test("artifacts: with the cache on, later requests are served from the one in-memory copy", async (t) => {
  // Proven by changing the bytes on disk behind the catalog's back (same
  // inode, size and mtime, so the content address stays): the cache keeps
  // answering with what it read first, the streaming path with the new bytes.
  const file = (h: Harness) => join(h.dir, "images", "img-1", "initrd.img");
  const pinned = new Date("2026-01-01T00:00:00Z");
  for (const [artifactCacheBytes, expect] of [
    [1 << 20, "first"],
    [0, "changed"],
  ] as const) {
    const h = await startHarness({ config: { artifactCacheBytes } });
    t.after(() => h.close());
    utimesSync(file(h), pinned, pinned);
    const sha = sha256(h.initrd);
    const path = `/images/img-1/${sha.slice(0, 16)}/initrd.img`;
    assert.ok((await raw(h.url, path)).body.equals(h.initrd));
    const changed = Buffer.from(h.initrd).fill(0x5a, 0, 1000);
    const fd = openSync(file(h), "r+");
    writeSync(fd, changed, 0, changed.length, 0);
    closeSync(fd);
    utimesSync(file(h), pinned, pinned);
    const again = await raw(h.url, path);
    assert.equal(again.status, 200);
    assert.ok(
      again.body.equals(expect === "first" ? h.initrd : changed),
      `cache ${artifactCacheBytes}`,
    );
  }
});

test("artifacts: stale content addresses and traversal attempts are 404 and leak nothing", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const sha = sha256("kernel-bytes").slice(0, 16);
  assert.equal((await raw(h.url, `/images/img-1/${sha}/vmlinuz`)).status, 200);
  const attempts = [
    `/images/img-1/0000000000000000/vmlinuz`,
    `/images/current/${sha}/vmlinuz`,
    `/images/img-1/${sha}/manifest.json`,
    `/images/img-1/${sha}/../../secret.txt`,
    `/images/..%2F..%2Fsecret.txt/${sha}/vmlinuz`,
    `/images/..%2f/${sha}/vmlinuz`,
    `/images/img-1%2F..%2F..%2F/${sha}/vmlinuz`,
    `/images/%2e%2e/${sha}/vmlinuz`,
    `/images/evil/${sha256("outside").slice(0, 16)}/vmlinuz`,
    `/images/img-1/${sha}/vmlinuz%00`,
    `/ipxe/..%2F..%2Fetc%2Fpasswd`,
    `/mirror/../../etc/passwd`,
  ];
  for (const p of attempts) {
    const r = await raw(h.url, p);
    assert.equal(r.status, 404, p);
    assert.ok(!r.body.toString().includes("outside"), p);
    assert.ok(!r.body.toString().includes("kernel-bytes"), p);
  }
});
