import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ContentCache, toNetascii } from "../../../server/tftp/content.ts";

/** Runs `fn` in a fresh temporary folder and removes it afterwards. */
async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "am-tftp-content-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("netascii: LF -> CR LF, bare CR -> CR NUL", () => {
  assert.deepEqual(toNetascii(Buffer.from("a\nb\rc")), Buffer.from("a\r\nb\r\0c", "latin1"));
  const plain = Buffer.from("abc");
  assert.equal(toNetascii(plain), plain);
});

test("concurrent transfers of one file share one buffer; an edit is seen", async () => {
  await withDir(async (dir) => {
    const f = join(dir, "f");
    await writeFile(f, "one\n");
    const cache = new ContentCache();
    const a = await cache.acquire(f, "octet");
    const b = await cache.acquire(f, "octet");
    assert.equal(a.data, b.data);
    assert.deepEqual((await cache.acquire(f, "netascii")).data, Buffer.from("one\r\n"));
    a.release();
    b.release();
    await writeFile(f, "two!\n");
    assert.deepEqual((await cache.acquire(f, "octet")).data, Buffer.from("two!\n"));
  });
});

test("a file stays cached after its last transfer, until its version changes", async () => {
  await withDir(async (dir) => {
    const f = join(dir, "f");
    await writeFile(f, "one\n");
    const v1 = await stat(f);
    const cache = new ContentCache();
    (await cache.acquire(f, "octet", v1)).release();
    await writeFile(f, "new!\n");
    // Same version handed in: served from memory, not read again.
    const kept = await cache.acquire(f, "octet", v1);
    assert.deepEqual(kept.data, Buffer.from("one\n"));
    kept.release();
    assert.equal(cache.size, 1);
    // The new version is read, and the idle old one is dropped.
    const fresh = await cache.acquire(f, "octet", await stat(f));
    assert.deepEqual(fresh.data, Buffer.from("new!\n"));
    assert.equal(cache.size, 1);
    fresh.release();
  });
});

test("idle files beyond keepBytes are evicted oldest first; files in use never", async () => {
  await withDir(async (dir) => {
    const [a, b, c] = ["a", "b", "c"].map((n) => join(dir, n)) as [string, string, string];
    for (const f of [a, b, c]) await writeFile(f, "12345678");
    const cache = new ContentCache(10);
    const held = await cache.acquire(a, "octet");
    (await cache.acquire(b, "octet")).release();
    (await cache.acquire(c, "octet")).release();
    // a is in use (kept whatever its size); of b and c only the newest fits.
    assert.equal(cache.size, 2);
    assert.equal(cache.inUse, 1);
    held.release();
    assert.equal(cache.size, 1);
    assert.equal(cache.inUse, 0);
    await writeFile(b, "changed!"); // would be read if b were still kept
    await writeFile(c, "changed!");
    assert.deepEqual((await cache.acquire(c, "octet")).data, Buffer.from("changed!"));
  });
});

test("a failed read is not kept: the next request reads again", async () => {
  await withDir(async (dir) => {
    const f = join(dir, "f");
    const cache = new ContentCache();
    const missing = { ino: 1, size: 3, mtimeMs: 1, ctimeMs: 1 };
    await assert.rejects(cache.acquire(f, "octet", missing), /tftp: reading .*\/f: ENOENT/);
    assert.equal(cache.size, 0);
    await writeFile(f, "ok\n");
    assert.deepEqual((await cache.acquire(f, "octet")).data, Buffer.from("ok\n"));
  });
});
