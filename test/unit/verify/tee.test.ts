import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { ByteTee } from "../../../shared/verify/tee.ts";

const collect = (s: PassThrough) => {
  const got: Buffer[] = [];
  s.on("data", (c: Buffer) => got.push(c));
  return () => Buffer.concat(got).toString();
};

test("in-order bytes reach the consumer and the tee reports intact", async () => {
  const sink = new PassThrough();
  const out = collect(sink);
  const tee = new ByteTee(sink);
  await tee.feed(0, Buffer.from("abc"));
  await tee.feed(3, Buffer.from("de"));
  assert.equal(tee.end(5), true);
  assert.equal(out(), "abcde");
});

test("a resumed download (gap) or a restart from 0 (repeat) breaks the tee", async () => {
  const gap = new ByteTee(new PassThrough().resume());
  await gap.feed(0, Buffer.from("abc"));
  await gap.feed(5, Buffer.from("fg"));
  assert.equal(gap.end(7), false);

  const restart = new ByteTee(new PassThrough().resume());
  await restart.feed(0, Buffer.from("abc"));
  await restart.feed(0, Buffer.from("abcdef"));
  assert.equal(restart.end(6), false);
});

test("a short stream is not intact; a dead consumer neither stalls nor throws", async () => {
  const short = new ByteTee(new PassThrough().resume());
  await short.feed(0, Buffer.from("abc"));
  assert.equal(short.end(10), false);

  const sink = new PassThrough({ highWaterMark: 1 });
  const dead = new ByteTee(sink);
  sink.destroy(new Error("EPIPE"));
  await dead.feed(0, Buffer.alloc(1024));
  await dead.feed(1024, Buffer.alloc(1024));
  assert.equal(dead.end(2048), false);
});

test("waiting for a slow consumer leaves no listeners behind (thousands of backpressure waits)", async () => {
  const sink = new PassThrough({ highWaterMark: 16 });
  const base = { close: sink.listenerCount("close"), error: sink.listenerCount("error") };
  let seen = 0;
  // A consumer that takes one chunk per macrotask: every write above 16 bytes waits.
  sink.on("readable", function drainSlowly() {
    setImmediate(() => {
      let c: Buffer | null;
      while ((c = sink.read() as Buffer | null) !== null) seen += c.length;
    });
  });
  const tee = new ByteTee(sink);
  const chunk = Buffer.alloc(64, 1);
  for (let i = 0; i < 2000; i++) await tee.feed(i * 64, chunk);
  assert.equal(sink.listenerCount("drain"), 0);
  assert.equal(sink.listenerCount("close"), base.close);
  assert.equal(sink.listenerCount("error"), base.error + 1, "only the tee's own error listener");
  assert.equal(tee.end(2000 * 64), true);
  await new Promise((r) => setImmediate(r));
  assert.ok(seen > 0);
});
