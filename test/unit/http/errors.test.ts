// errorHandler: an HttpError's message goes to the client whatever its
// status; any other failure is a 500 that says only "internal error".
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import express from "express";
import { pino } from "pino";
import { errorHandler, HttpError } from "../../../server/http/errors.ts";

test("deliberate errors keep their message; unexpected ones are hidden", async (t) => {
  const app = express();
  app.get("/deliberate", () => {
    throw new HttpError(501, "wake: no served interface configured");
  });
  app.get("/unexpected", () => {
    throw new Error("ENOENT: /var/lib/automagic/secret");
  });
  app.use(errorHandler(pino({ level: "silent" })));
  const server = app.listen(0, "127.0.0.1");
  t.after(() => server.close());
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const d = await fetch(`${base}/deliberate`);
  assert.deepEqual(
    [d.status, await d.json()],
    [501, { error: "wake: no served interface configured" }],
  );
  const u = await fetch(`${base}/unexpected`);
  assert.deepEqual([u.status, await u.json()], [500, { error: "internal error" }]);
});
