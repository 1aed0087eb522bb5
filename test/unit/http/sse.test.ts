// The events stream carries each event's store id and starts after the
// Last-Event-ID a reconnecting client sends; the client-side parser reads
// ids, data and keep-alive comments the way the server writes them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import express from "express";
import { parseSseBlock, sseEvents } from "../../../server/app/client.ts";
import { followEvents } from "../../../server/http/sse.ts";
import type { StateStore, StoredEvent } from "../../../server/state/store.ts";

function fakeStore(events: StoredEvent[]): StateStore {
  return {
    emitter: new EventEmitter(),
    hostEvents: (host: string, after: number) =>
      events.filter((e) => e.host === host && e.id > after),
  } as unknown as StateStore;
}

const ev = (id: number): StoredEvent =>
  ({ id, runId: 1, host: "h", receivedAt: id, event: { seq: id } }) as unknown as StoredEvent;

async function firstEvents(headers: Record<string, string>, n: number): Promise<string[]> {
  const store = fakeStore([ev(1), ev(2), ev(3), ev(4)]);
  const app = express().get("/e", (req, res) => followEvents(req, res, store, "h", 0));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const ac = new AbortController();
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/e`, { headers, signal: ac.signal });
    const ids: string[] = [];
    for await (const e of sseEvents(res.body!)) {
      ids.push(`${e.id}:${(JSON.parse(e.data) as StoredEvent).id}`);
      if (ids.length === n) break;
    }
    return ids;
  } finally {
    ac.abort();
    server.closeAllConnections();
    server.close();
  }
}

test("sse: every event carries its store id", async () => {
  assert.deepEqual(await firstEvents({}, 4), ["1:1", "2:2", "3:3", "4:4"]);
});

test("sse: Last-Event-ID resumes after that event", async () => {
  assert.deepEqual(await firstEvents({ "last-event-id": "2" }, 2), ["3:3", "4:4"]);
});

test("sse parser: ids, multi-line data, comments, CRLF and split chunks", async () => {
  assert.deepEqual(parseSseBlock("id: 7\nevent: run-event\ndata: {}"), { id: "7", data: "{}" });
  assert.deepEqual(parseSseBlock(": keep-alive"), { data: "" });
  assert.deepEqual(parseSseBlock("data: a\ndata:b"), { data: "a\nb" });
  const text = "id: 1\r\ndata: x\r\n\r\n: keep-alive\n\nid: 2\ndata: y\n\n";
  const chunks = [...Buffer.from(text)].map((b) => Uint8Array.of(b)); // one byte at a time
  const got = [];
  for await (const e of sseEvents(
    (async function* () {
      yield* chunks;
    })(),
  ))
    got.push(e);
  assert.deepEqual(got, [{ id: "1", data: "x" }, { data: "" }, { id: "2", data: "y" }]);
});
