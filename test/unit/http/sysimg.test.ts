// Capture uploads against the real app in-process: an archive becomes an
// image only when the payload's sha256 matches what arrived; only a capture
// run's token may upload; names never leave the store's folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KNOWN, json, parseBootScript, startHarness, type Harness } from "./harness.ts";
import { Readable } from "node:stream";
import { imageName } from "../../../server/sysimgs/store.ts";
import { putStream } from "../../../payload/capture.ts";
import { sha256 as sha } from "../../../shared/hash.ts";

async function armAndBoot(h: Harness, action: string): Promise<string> {
  const r = await fetch(`${h.url}/api/v1/admin/hosts/ws1/next`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return parseBootScript(await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text()).token;
}
const put = (h: Harness, token: string, body: Buffer) =>
  fetch(`${h.url}/api/v1/run/${token}/sysimg`, { method: "PUT", body });
const commit = (h: Harness, token: string, sha256: string) =>
  fetch(`${h.url}/api/v1/run/${token}/sysimg/commit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sha256, source: { device: "/dev/vda2", fstype: "ext4" } }),
  });

test("imageName: host and UTC stamp; a host name unfit for a file name is refused", () => {
  assert.equal(imageName("ws1", new Date("2026-11-27T17:05:09.123Z")), "ws1-20261127T170509Z");
  assert.throws(() => imageName("../x", new Date()), /not usable in a file name/);
});

test("capture upload: stored, hashed, committed with the payload's sha256, listed", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h, "capture");
  const body = Buffer.alloc(3 << 20, 7);
  const got = await json(put(h, token, body));
  assert.deepEqual([got.bytes, got.sha256], [body.length, sha(body)]);
  assert.deepEqual(await json(fetch(`${h.url}/api/v1/admin/sysimgs`)), [], "not an image yet");
  const image = await json(commit(h, token, sha(body)));
  assert.equal(image.name, got.name);
  assert.match(image.name, /^ws1-\d{8}T\d{6}Z$/);
  assert.equal(image.source.device, "/dev/vda2");
  const listed = await json(fetch(`${h.url}/api/v1/admin/sysimgs`));
  assert.deepEqual(
    listed.map((i: { name: string; sha256: string }) => [i.name, i.sha256]),
    [[image.name, sha(body)]],
  );
  const path = (await h.sysimgs.path(image.name))!;
  assert.ok((await readFile(path)).equals(body));
  // Images hold the source's shadow hashes and SSH host keys: owner-only.
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(h.sysimgs.dir)).mode & 0o777, 0o700);
});

test("capture upload: a sha256 mismatch drops the upload and names both hashes", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h, "capture");
  const body = Buffer.from("archive bytes");
  await json(put(h, token, body));
  const bad = await commit(h, token, "0".repeat(64));
  assert.equal(bad.status, 409);
  assert.match(
    (await json(bad)).error,
    new RegExp(`sha256 ${sha(body)} arrived, the payload sent 0{64}`),
  );
  assert.deepEqual(await readdir(h.sysimgs.dir), [], "nothing left behind");
  assert.equal(
    (await commit(h, token, sha(body))).status,
    409,
    "no second chance without a new upload",
  );
});

test("only a capture run's token uploads; bad bodies and unknown names are refused", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const install = await armAndBoot(h, "install");
  const r = await put(h, install, Buffer.from("x"));
  assert.equal(r.status, 409);
  assert.match((await json(r)).error, /\(action install\) is not a capture run/);
  assert.equal((await put(h, "A".repeat(32), Buffer.from("x"))).status, 404);
  const h2 = await startHarness();
  t.after(() => h2.close());
  const token = await armAndBoot(h2, "capture");
  const noSha = await fetch(`${h2.url}/api/v1/run/${token}/sysimg/commit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sha256: "../../etc" }),
  });
  assert.equal(noSha.status, 400);
  for (const name of ["../secret", "ws1-x/../../y", "", ".hidden"])
    assert.equal(await h2.sysimgs.path(name), undefined, name);
  // Metadata without its archive is not an image; unreadable metadata names its file.
  await writeFile(join(h2.sysimgs.dir, "ws1-orphan.json"), "{}");
  assert.equal(await h2.sysimgs.path("ws1-orphan"), undefined);
  await writeFile(join(h2.sysimgs.dir, "ws1-bad.tar.zst"), "x");
  await writeFile(join(h2.sysimgs.dir, "ws1-bad.json"), "{not json");
  assert.deepEqual(await h2.sysimgs.list(), [], "skipped (and logged), not a failed listing");
  await assert.rejects(h2.sysimgs.find("ws1-bad"), /sysimg: .*\/ws1-bad\.json: /);
});

test("deploy: armable only for a stored image; its run's token fetches the bytes with their sha256", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const body = Buffer.alloc(1 << 20, 3);
  const capture = await armAndBoot(h, "capture");
  await json(put(h, capture, body));
  const image = await json(commit(h, capture, sha(body)));
  const token = await armAndBoot(h, `deploy:${image.name}`);
  const head = await fetch(`${h.url}/api/v1/run/${token}/sysimg`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(body.length));
  assert.equal(head.headers.get("x-automagic-sha256"), sha(body));
  const got = await fetch(`${h.url}/api/v1/run/${token}/sysimg`);
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(body));
  const install = await armAndBoot(h, "install");
  const wrong = await fetch(`${h.url}/api/v1/run/${install}/sysimg`);
  assert.equal(wrong.status, 409);
  assert.match((await json(wrong)).error, /\(action install\) is not a deploy run/);
});

test("putStream (the payload's uploader) streams a body on a connection of its own", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const token = await armAndBoot(h, "capture");
  const chunks = [Buffer.alloc(1 << 20, 1), Buffer.alloc(1 << 20, 2)];
  const res = await putStream(`${h.url}/api/v1/run/${token}/sysimg`, Readable.from(chunks));
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).sha256, sha(Buffer.concat(chunks)));
  const refused = await putStream(
    `${h.url}/api/v1/run/${"A".repeat(32)}/sysimg`,
    Readable.from([]),
  );
  assert.equal(refused.status, 404);
});
