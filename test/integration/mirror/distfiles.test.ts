// Source tarballs through the server's mirror (server/mirror/distfiles.ts):
// fetched only when the verified snapshot's Manifests name them, cached only
// when size and digests match, in Gentoo's filename-hash layout.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { bucketOf } from "../../../server/mirror/distfiles.ts";
import {
  cleanup,
  cloneFixture,
  countingUpstream,
  ensureFixture,
  listFiles,
  pinnedToFixture,
  replaceFile,
  startMirror,
  tempDir,
  type CountingUpstream,
  type Fixture,
} from "./helpers.ts";

let fx: Fixture;
let work: string;
let name: string;
let rel: string;
let up: CountingUpstream;

before(async () => {
  fx = await ensureFixture();
  work = await tempDir("distfiles");
  // A distfile the fixture tree's Manifests name (DIST line), as published.
  const buckets = (await readdir(join(fx.dir, "distfiles"))).filter((b) => b.length === 2);
  name = (await readdir(join(fx.dir, "distfiles", buckets[0]!)))[0]!;
  rel = `distfiles/${bucketOf(name)}/${name}`;
  up = await countingUpstream(fx.dir);
});
after(async () => {
  await up.close();
  await cleanup(work);
});

const sha512 = (b: Buffer) => createHash("sha512").update(b).digest("hex");

test("layout.conf says filename-hash; a named distfile is fetched once, checked, then served from the cache", async () => {
  const m = await startMirror(pinnedToFixture(fx, up.url, join(work, "cache")));
  try {
    const layout = await fetch(`${m.url}distfiles/layout.conf`);
    assert.equal(await layout.text(), "[structure]\n0=filename-hash BLAKE2B 8\n");
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${m.url}${rel}`);
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(
        sha512(Buffer.from(await r.arrayBuffer())),
        sha512(await readFile(join(fx.dir, rel))),
      );
    }
    assert.equal(up.hits.get(rel), 1, "fetched from upstream once");
  } finally {
    await m.close();
  }
});

test("a name no Manifest has, or the wrong bucket, is refused without asking upstream", async () => {
  const m = await startMirror(pinnedToFixture(fx, up.url, join(work, "cache2")));
  try {
    const before = up.total();
    const unknown = await fetch(`${m.url}distfiles/${bucketOf("evil-1.tar")}/evil-1.tar`);
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /no Manifest in the verified tree names it/);
    const other = bucketOf(name) === "00" ? "01" : "00";
    const wrong = await fetch(`${m.url}distfiles/${other}/${name}`);
    assert.equal(wrong.status, 404);
    assert.match(await wrong.text(), new RegExp(`belongs under distfiles/${bucketOf(name)}/`));
    // Only the snapshot (the trust anchor) was fetched, no distfile.
    assert.deepEqual(
      [...up.hits.keys()].filter((k) => k.startsWith("distfiles/")),
      [...up.hits.keys()].filter((k) => k === rel),
    );
    assert.ok(up.total() - before <= 2, "snapshot and its signature at most");
  } finally {
    await m.close();
  }
});

test("a tampered distfile upstream is refused (502) and not cached", async () => {
  const bad = await cloneFixture(fx, join(work, "bad"));
  await replaceFile(bad, rel, (b) => {
    const c = Buffer.from(b);
    c.writeUInt8(c.readUInt8(c.length - 1) ^ 0xff, c.length - 1);
    return c;
  });
  const cache = join(work, "cache3");
  const m = await startMirror(pinnedToFixture(fx, bad, cache));
  try {
    const r = await fetch(`${m.url}${rel}`);
    assert.equal(r.status, 502);
    assert.match(await r.text(), /mismatch against the tree's Manifest/);
    assert.deepEqual(
      (await listFiles(cache)).filter(
        (f) => f.startsWith("distfiles/") && f !== "distfiles/layout.conf",
      ),
      [],
    );
  } finally {
    await m.close();
  }
});
