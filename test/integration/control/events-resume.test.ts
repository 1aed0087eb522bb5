// `automagic events HOST --follow` over a connection that drops mid-stream:
// the real CLI reconnects with Last-Event-ID and prints every event once, in
// order. The server is a stand-in that cuts the socket after two events and
// then answers 503 once, as a proxy does while the real one restarts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { execa } from "execa";
import { BIN } from "./serve-process.ts";

const block = (id: number) =>
  `id: ${id}\nevent: run-event\ndata: ${JSON.stringify({ id, runId: 1, host: "h", event: { seq: id } })}\n\n`;

test("events --follow: a dropped stream resumes after the last event it saw", async (t) => {
  const seen: IncomingMessage["headers"][] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    assert.equal(req.url, "/api/v1/admin/hosts/h/events?follow=1");
    if (seen.length === 2) {
      res.writeHead(503, { "content-type": "application/json" }).end('{"error":"restarting"}');
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    if (seen.length === 1) {
      res.write(block(1) + block(2) + 'id: 3\ndata: {"half'); // cut inside event 3
      setTimeout(() => res.socket?.destroy(), 100);
    } else {
      const after = Number(req.headers["last-event-id"]);
      res.write(block(after + 1) + block(after + 2));
    }
  });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const proc = execa(
    BIN,
    ["events", "h", "--follow", "--json", "--server", url, "--admin-token", "t"],
    {
      reject: false,
      buffer: false,
    },
  );
  let out = "";
  let err = "";
  proc.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no 4 events in 20 s:\n${out}\n${err}`)),
      20_000,
    );
    proc.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.split("\n").filter(Boolean).length >= 4) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  proc.kill("SIGTERM");
  await proc;

  const ids = out
    .split("\n")
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { id: number }).id);
  assert.deepEqual(ids, [1, 2, 3, 4]);
  assert.equal(seen.length, 3);
  assert.equal(seen[0]!["last-event-id"], undefined);
  assert.equal(seen[1]!["last-event-id"], "2");
  assert.equal(seen[2]!["last-event-id"], "2");
  assert.match(err, /events: stream lost \(.*\); reconnecting after event 2/);
});

test("events --follow: no server at all is exit 5 at once (no retrying into the void)", async () => {
  const r = await execa(
    BIN,
    ["events", "h", "--follow", "--server", "http://127.0.0.1:9", "--admin-token", "t"],
    { reject: false, timeout: 20_000 },
  );
  assert.equal(r.exitCode, 5, r.stderr);
  assert.match(r.stderr, /is `automagic serve` running\?/);
});
