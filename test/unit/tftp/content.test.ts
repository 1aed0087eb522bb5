import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ContentCache, toNetascii } from "../../../server/tftp/content.ts";

test("netascii: LF -> CR LF, bare CR -> CR NUL", () => {
  assert.deepEqual(toNetascii(Buffer.from("a\nb\rc")), Buffer.from("a\r\nb\r\0c", "latin1"));
  const plain = Buffer.from("abc");
  assert.equal(toNetascii(plain), plain);
});

test("concurrent transfers of one file share one buffer; an edit is seen", async () => {
  const dir = await mkdtemp(join(tmpdir(), "am-tftp-content-"));
  try {
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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
