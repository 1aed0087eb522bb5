// The rules both stores share (shared/sysimgs.ts) and the machine's own
// /home store (payload/sysimg/home.ts) on a real folder: atomic commit,
// listing, leftovers of an interrupted capture, retention, the room check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickImage, pruneChoice } from "../../../shared/sysimgs.ts";
import { sha256 } from "../../../shared/hash.ts";
import {
  commitHome,
  hashArchive,
  homeRoomRefusal,
  listHome,
  partialOf,
  pruneHome,
  removeLeftovers,
} from "../../../payload/sysimg/home.ts";
import { SysImageStore } from "../../../server/sysimgs/store.ts";
import { Readable } from "node:stream";

const img = (name: string, created: string, sha = "a".repeat(64)) => ({
  name,
  host: "ws1",
  bytes: 3,
  sha256: sha,
  created,
});

test("pruneChoice keeps the N newest, never a protected one", () => {
  const list = [
    img("ws1-1", "2026-01-01T00:00:00Z"),
    img("ws1-3", "2026-03-01T00:00:00Z"),
    img("ws1-2", "2026-02-01T00:00:00Z"),
  ];
  assert.deepEqual(pruneChoice(list, 1, new Set()), ["ws1-2", "ws1-1"]);
  assert.deepEqual(pruneChoice(list, 1, new Set(["ws1-1"])), ["ws1-2"]);
  assert.deepEqual(pruneChoice(list, 5, new Set()), []);
});

test("pickImage: latest and previous across both stores, a name in either, a refusal naming both counts", () => {
  const home = [img("ws1-3", "2026-03-01T00:00:00Z"), img("ws1-1", "2026-01-01T00:00:00Z")];
  const server = [img("ws1-2", "2026-02-01T00:00:00Z"), img("ws1-1", "2026-01-01T00:00:00Z")];
  assert.deepEqual(pickImage("latest", home, server), { name: "ws1-3", home: home[0] });
  assert.deepEqual(pickImage("previous", home, server), { name: "ws1-2", server: server[0] });
  assert.deepEqual(pickImage("ws1-1", home, server), {
    name: "ws1-1",
    home: home[1],
    server: server[1],
  });
  assert.throws(
    () => pickImage("ws1-9", home, server),
    /deploy:ws1-9: no image of that name \(2 on its \/home, 2 on the server\)/,
  );
  assert.throws(
    () => pickImage("previous", [home[0]!], []),
    /deploy:previous: the host has no previous image \(1 on its \/home, 0 on the server\)/,
  );
});

test("/home store: commit is atomic, leftovers go, retention keeps N and never the newest", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "am-home-sysimgs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [i, day] of ["01", "02", "03"].entries()) {
    const name = `ws1-202601${day}T000000Z`;
    writeFileSync(partialOf(dir, name), `bytes${i}`);
    // Before the commit nothing is listed.
    assert.ok(!(await listHome(dir)).images.some((m) => m.name === name));
    await commitHome(dir, {
      ...img(name, `2026-01-${day}T00:00:00Z`, sha256(`bytes${i}`)),
      bytes: 6,
    });
  }
  assert.deepEqual(
    (await listHome(dir)).images.map((m) => m.name),
    ["ws1-20260103T000000Z", "ws1-20260102T000000Z", "ws1-20260101T000000Z"],
  );
  // The archive's bytes are what its record says.
  const h = await hashArchive(join(dir, "ws1-20260103T000000Z.tar.zst"));
  assert.equal(h.sha256, sha256("bytes2"));
  // What a crash leaves: a partial, an archive without its record, a temp JSON.
  writeFileSync(partialOf(dir, "ws1-x"), "half");
  writeFileSync(join(dir, "ws1-y.tar.zst"), "orphan");
  const left = await removeLeftovers(dir);
  assert.deepEqual(left.sort(), ["ws1-x.tar.zst.partial", "ws1-y.tar.zst"]);
  const removed = await pruneHome(dir, 1, new Set(["ws1-20260103T000000Z"]));
  assert.deepEqual(removed, ["ws1-20260102T000000Z", "ws1-20260101T000000Z"]);
  assert.deepEqual(readdirSync(dir).sort(), [
    "ws1-20260103T000000Z.json",
    "ws1-20260103T000000Z.tar.zst",
  ]);
  // A record that is not one is skipped and named, never listed.
  writeFileSync(join(dir, "bad.json"), "{");
  writeFileSync(join(dir, "bad.tar.zst"), "x");
  const l = await listHome(dir);
  assert.equal(l.images.length, 1);
  assert.match(l.skipped.join(), /bad\.json/);
});

test("a /home too small is refused naming both sizes", () => {
  assert.equal(homeRoomRefusal("/dev/vdb1", 600 * 2 ** 20, 500 * 2 ** 20), undefined);
  assert.equal(
    homeRoomRefusal("/dev/vdb1", 100 * 2 ** 20, 500 * 2 ** 20),
    "refused: /home (/dev/vdb1) has 100 MiB free; the image needs up to 500 MiB (the root's used bytes); nothing was written",
  );
});

test("server store retention: keeps N of the host, never the one just written or one a deploy names", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "am-srv-sysimgs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let now = Date.parse("2026-01-01T00:00:00Z");
  const store = await new SysImageStore(dir, () => new Date(now)).open();
  const names: string[] = [];
  for (let run = 1; run <= 4; run++) {
    now += 86_400_000;
    const host = run === 2 ? "ws2" : "ws1";
    const got = await store.receive(host, run, Readable.from([Buffer.from(`img${run}`)]));
    names.push((await store.commit(run, got.sha256)).name);
  }
  // ws1 has runs 1, 3, 4; a deploy uses run 1's image.
  const removed = await store.prune("ws1", 1, new Set([names[3]!, names[0]!]));
  assert.deepEqual(removed, [names[2]]);
  assert.deepEqual(
    (await store.list()).map((i) => i.name).sort(),
    [names[0], names[1], names[3]].sort(),
    "ws2's image is not ws1's to prune",
  );
});
