import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobCache } from "../../../server/http/blob-cache.ts";

async function files(t: { after(fn: () => Promise<void>): void }, sizes: Record<string, number>) {
  const dir = await mkdtemp(join(tmpdir(), "am-blob-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, n] of Object.entries(sizes))
    await writeFile(join(dir, name), Buffer.alloc(n, name));
  return (name: string) => join(dir, name);
}

test("blob cache: one shared read per key, concurrent callers share it", async (t) => {
  const f = await files(t, { a: 100 });
  const c = new BlobCache(1000);
  const [x, y] = await Promise.all([c.get("ka", f("a"), 100), c.get("ka", f("a"), 100)]);
  assert.ok(x && x === y, "the same Buffer for both");
  assert.equal(x.toString(), "a".repeat(100));
  assert.equal(c.bytes(), 100);
});

test("blob cache: a file bigger than the cache (or empty) is not cached", async (t) => {
  const f = await files(t, { big: 2000 });
  const c = new BlobCache(1000);
  assert.equal(c.get("kb", f("big"), 2000), undefined);
  assert.equal(c.get("k0", f("big"), 0), undefined);
  assert.equal(c.bytes(), 0);
});

test("blob cache: least recently used goes first when full", async (t) => {
  const f = await files(t, { a: 400, b: 400, c: 400 });
  const c = new BlobCache(1000);
  const a = await c.get("ka", f("a"), 400);
  await c.get("kb", f("b"), 400);
  assert.equal(await c.get("ka", f("a"), 400), a, "a touched: now the most recent");
  await c.get("kc", f("c"), 400); // evicts b, not a
  assert.equal(c.bytes(), 800);
  assert.equal(await c.get("ka", f("a"), 400), a, "a still cached");
  await rm(f("b"));
  await assert.rejects(c.get("kb", f("b"), 400)!, /ENOENT/, "b was evicted: read again, and gone");
});

test("blob cache: a size mismatch or failed read rejects, names the file, and is forgotten", async (t) => {
  const f = await files(t, { a: 100 });
  const c = new BlobCache(1000);
  await assert.rejects(c.get("ka", f("a"), 99)!, /a: 100 bytes on disk, the catalog says 99/);
  await new Promise((r) => setImmediate(r));
  assert.equal(c.bytes(), 0);
  assert.equal((await c.get("ka", f("a"), 100))?.length, 100, "retried after the failure");
});
