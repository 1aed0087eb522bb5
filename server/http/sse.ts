// Server-sent events for `automagic events HOST --follow`: replays what is
// stored after `after`, then pushes each committed batch. The event id is
// the store's row id, so a client reconnecting with Last-Event-ID misses nothing.
import type { Request, Response } from "express";
import type { StateStore } from "../state/store.ts";

export function followEvents(
  req: Request,
  res: Response,
  store: StateStore,
  host: string,
  after: number,
): void {
  const last = Number(req.headers["last-event-id"] ?? after) || 0;
  res.status(200);
  res.setHeader("Content-Type", "text/event-stream");
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("Connection", "keep-alive");
  res.flushHeaders();
  let cursor = last;
  const flush = () => {
    for (const e of store.hostEvents(host, cursor)) {
      res.write(`id: ${e.id}\nevent: run-event\ndata: ${JSON.stringify(e)}\n\n`);
      cursor = e.id;
    }
  };
  const onEvents = (h: string) => {
    if (h === host) flush();
  };
  // Comments keep proxies and idle timeouts from cutting a quiet stream.
  const beat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
  store.emitter.on("events", onEvents);
  const stop = () => {
    clearInterval(beat);
    store.emitter.off("events", onEvents);
  };
  req.on("close", stop);
  res.on("error", stop);
  flush();
}
