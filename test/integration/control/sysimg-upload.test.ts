// Capture uploads against the real `automagic serve` (config file, network
// namespace, state folder on an 8 MiB tmpfs): bounded by sysimgs.maxBytes
// (413) and by the disk's free space (507, up front when curl sends
// Content-Length), an upload slower than the server's total request time
// that never pauses for long succeeds, one that pauses is cut after
// sysimgs.idleTimeout, and other routes keep their total bound. Whatever is
// refused or cut leaves the state folder as it was.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loggedAt, sha256, sleep, startCaptureBed, type CaptureBed } from "./capture-bed.ts";

const MiB = 1 << 20;
let bed: CaptureBed;
let token: string;
const scratch = mkdtempSync(join(tmpdir(), "am-sysimg-up-"));

before(async () => {
  bed = await startCaptureBed({
    disk: "8m",
    config: [
      "http: { port: 8080, requestTimeout: 2s }",
      "sysimgs: { maxBytes: 16M, keepFree: 512K, idleTimeout: 1s }",
    ],
  });
  token = await bed.arm();
});
after(async () => {
  await bed?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function file(name: string, bytes: number): string {
  const path = join(scratch, name);
  writeFileSync(path, Buffer.alloc(bytes, 5));
  return path;
}

test("an upload larger than sysimgs.maxBytes: 413 naming the limit, nothing kept", async () => {
  const before = bed.files();
  const r = await bed.put(token, { file: file("big", 20 * MiB) });
  assert.equal(r.status, 413, `${r.status} ${r.body} ${r.error}`);
  assert.match(
    JSON.parse(r.body).error,
    /20971520 bytes is more than sysimgs\.maxBytes \(16777216 bytes\)/,
  );
  assert.deepEqual(bed.files(), before);
  assert.deepEqual(await bed.listed(), []);
});

test("an upload the state disk lacks the space for: 507 up front (Content-Length), nothing kept", async () => {
  const before = bed.files();
  const r = await bed.put(token, { file: file("fat", 10 * MiB) });
  assert.equal(r.status, 507, `${r.status} ${r.body} ${r.error}`);
  assert.match(JSON.parse(r.body).error, /state disk .* is too full: 10485760 bytes do not fit/);
  assert.deepEqual(bed.files(), before);
});

test("a chunked upload that fills the disk: refused when the space runs out, nothing kept", async () => {
  const before = bed.files();
  const r = await bed.put(token, {
    feed: async (write) => {
      for (let i = 0; i < 40; i += 1) await write(Buffer.alloc(256 * 1024, i));
    },
  });
  assert.equal(r.status, 507, `${r.status} ${r.body} ${r.error}`);
  assert.match(JSON.parse(r.body).error, /filled up after \d+ bytes/);
  assert.deepEqual(bed.files(), before);
  assert.deepEqual(await bed.listed(), []);
});

test("an upload taking twice the total request time, never idle for long, is stored", async () => {
  const sent: Buffer[] = [];
  const r = await bed.put(token, {
    feed: async (write) => {
      for (let i = 0; i < 16; i += 1) {
        const chunk = Buffer.alloc(64 * 1024, i);
        sent.push(chunk);
        await write(chunk);
        await sleep(250); // 4 s in all, at most 0.25 s apart
      }
    },
  });
  assert.equal(r.status, 200, `${r.status} ${r.body} ${r.error}`);
  assert.ok(r.ms > 4000, `took ${r.ms} ms`);
  const got = JSON.parse(r.body) as { name: string; sha256: string };
  assert.equal(got.sha256, sha256(Buffer.concat(sent)));
  const c = await bed.commit(token, got.sha256);
  assert.equal(c.status, 200, c.body);
  assert.deepEqual(await bed.listed(), [got.name]);
});

test("an upload that goes quiet is cut after sysimgs.idleTimeout; nothing kept", async () => {
  const before = bed.files();
  let quiet = 0;
  const r = await bed.put(token, {
    feed: async (write) => {
      await write(Buffer.alloc(256 * 1024, 1));
      quiet = Date.now();
      await sleep(4000);
      await write(Buffer.alloc(1024, 2));
    },
  });
  assert.equal(r.status, 408, `${r.status} ${r.body} ${r.error}`);
  const cutAt = loggedAt(bed.served.log(), /http: cut off: upload idle for 1 s/);
  assert.ok(cutAt, bed.served.log());
  const idle = cutAt - quiet;
  assert.ok(idle > 900 && idle < 2000, `cut ${idle} ms after the last byte`);
  assert.deepEqual(bed.files(), before);
});

test("other routes keep a total bound: an event batch trickled past http.requestTimeout is cut", async () => {
  const events = JSON.stringify({
    events: [{ seq: 1, time: new Date().toISOString(), phase: 1, kind: "run-start" }],
  });
  const started = Date.now();
  const trickled = await bed.post(`/api/v1/run/${token}/events`, async (write) => {
    for (const b of Buffer.from(events)) {
      await write(Buffer.from([b]));
      await sleep(100);
    }
  });
  // The 408 is written just before the connection closes; with the client's
  // bytes still arriving the close may reach curl first (as with Node's own
  // requestTimeout), so the server's log is the measure.
  assert.ok([408, 0].includes(trickled.status), `${trickled.status} ${trickled.body}`);
  assert.ok(trickled.ms < 3500, `curl ended ${trickled.ms} ms after it started`);
  const cutAt = loggedAt(bed.served.log(), /http: cut off: request body not complete after 2 s/);
  assert.ok(cutAt, bed.served.log());
  assert.ok(cutAt - started < 3000, `cut ${cutAt - started} ms after the request started`);
});
