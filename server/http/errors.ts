// One place where failures become HTTP responses (matchbox maps errors to
// transport codes in one place too). Routes throw HttpError; anything else
// is a 500 logged with its cause, never a stack trace on the wire.
import type { ErrorRequestHandler } from "express";
import type { Log } from "../log.ts";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HttpError";
  }
}

export function errorHandler(log: Log): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const status =
      err instanceof HttpError
        ? err.status
        : // body-parser errors carry a status (413, 400 on bad JSON)
          typeof (err as { status?: unknown }).status === "number"
          ? (err as { status: number }).status
          : 500;
    const message = err instanceof Error ? err.message : String(err);
    // An HttpError's message was written for the client (a 501 says what is
    // missing); any other failure is ours: logged, and hidden on the wire.
    const shown = err instanceof HttpError || status < 500;
    if (status >= 500)
      log[shown ? "warn" : "error"](
        { err, method: req.method, url: req.originalUrl },
        "request failed",
      );
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .status(status)
      .type("application/json")
      .send(JSON.stringify({ error: shown ? message : "internal error" }));
  };
}
