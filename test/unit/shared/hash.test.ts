import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Sha256Tap, sha256, sha256File } from "../../../shared/hash.ts";

// sha256sum of "abc" and of "" (known answers).
const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

test("sha256 of a string, of bytes, and of parts as if concatenated", () => {
  assert.equal(sha256("abc"), ABC);
  assert.equal(sha256(Buffer.from("abc")), ABC);
  assert.equal(sha256("a", Buffer.from("b"), "c"), ABC);
  assert.equal(sha256(), EMPTY);
});

test("Sha256Tap passes bytes through, counts them as they go and hashes them", async () => {
  const counts: number[] = [];
  const tap = new Sha256Tap((n) => counts.push(n));
  const seen: Buffer[] = [];
  await pipeline(
    Readable.from([Buffer.from("a"), Buffer.from("bc")]),
    tap,
    new Writable({ write: (c: Buffer, _e, cb) => (seen.push(c), cb()) }),
  );
  assert.equal(Buffer.concat(seen).toString(), "abc");
  assert.deepEqual(counts, [1, 3]);
  assert.equal(tap.bytes, 3);
  // a second call gives the same (the hash is final once)
  assert.equal(tap.sha256(), ABC);
  assert.equal(tap.sha256(), ABC);
});

test("sha256File hashes a file larger than one read; a missing file names the path", async () => {
  const dir = mkdtempSync(join(tmpdir(), "am-hash-"));
  try {
    const big = Buffer.alloc(3 * (1 << 20) + 7, 0x61);
    writeFileSync(join(dir, "big"), big);
    writeFileSync(join(dir, "empty"), "");
    assert.equal(await sha256File(join(dir, "big")), sha256(big));
    assert.equal(await sha256File(join(dir, "empty")), EMPTY);
    const missing = join(dir, "missing");
    await assert.rejects(sha256File(missing), (err: Error) => {
      assert.match(err.message, new RegExp(`^${missing}: cannot hash: ENOENT`));
      assert.equal((err.cause as NodeJS.ErrnoException).code, "ENOENT");
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
