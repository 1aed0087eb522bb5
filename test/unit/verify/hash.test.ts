import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DigestTap } from "../../../shared/verify/hash.ts";

// Known answers: sha512sum / b2sum of "abc".
const ABC_SHA512 =
  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
const ABC_B2 =
  "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923";

/** Sends "a", "bc" through `tap`; returns what came out. */
async function throughTap(tap: NodeJS.ReadWriteStream): Promise<string> {
  const seen: Buffer[] = [];
  await pipeline(
    Readable.from([Buffer.from("a"), Buffer.from("bc")]),
    tap,
    new Writable({ write: (c: Buffer, _e, cb) => (seen.push(c), cb()) }),
  );
  return Buffer.concat(seen).toString();
}

test("DigestTap passes bytes through unchanged and hashes them in chunks", async () => {
  const tap = new DigestTap();
  assert.equal(await throughTap(tap), "abc");
  assert.deepEqual(tap.digests(), { sha512: ABC_SHA512, blake2b: ABC_B2, bytes: 3 });
});

test("DigestTap.seed counts bytes already on disk (a resumed download)", async () => {
  const tap = new DigestTap();
  tap.seed(Buffer.from("ab"));
  await pipeline(
    Readable.from([Buffer.from("c")]),
    tap,
    new Writable({ write: (_c, _e, cb) => cb() }),
  );
  assert.equal(tap.digests().sha512, ABC_SHA512);
});
