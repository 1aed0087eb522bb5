// GET/HEAD /images/<id>/<sha16>/<file>: kernel and initrd with Range, ETag
// and conditional requests. Served from the shared in-memory copy
// (blob-cache.ts) when it fits, else streamed from disk with two small
// buffers per client (pump.ts): either way memory does not grow per client.
import { open } from "node:fs/promises";
import { Router, type Request, type Response } from "express";
import type { ImageCatalog, ImageFile } from "./images.ts";
import { isImageFile } from "./images.ts";
import { parseRange } from "./range.ts";
import { HttpError } from "./errors.ts";
import { pumpRange } from "./pump.ts";
import type { BlobCache } from "./blob-cache.ts";

export interface ArtifactHooks {
  /** Called once per request, when the status is known and before the body goes out (boot trace). */
  onFetch?(req: Request, id: string, file: string, status: number): void;
  /** Shared in-memory copies of the artifacts; absent: always stream from disk. */
  cache?: BlobCache;
}

export function artifactsRouter(images: ImageCatalog, hooks: ArtifactHooks = {}): Router {
  const r = Router();
  r.get("/images/:id/:sha/:file", async (req, res) => {
    const { id, sha, file } = req.params as { id: string; sha: string; file: string };
    if (!/^[0-9a-f]{16}$/.test(sha) || !isImageFile(file)) {
      throw new HttpError(404, `no artifact ${req.path}`);
    }
    const f = await images.file(id, file);
    // A stale content address (image rebuilt since the script was served)
    // is a 404, never the new bytes under the old name.
    if (!f || !f.sha256.startsWith(sha)) throw new HttpError(404, `no artifact ${req.path}`);
    await sendFile(req, res, f, (status) => hooks.onFetch?.(req, id, file, status), hooks.cache);
  });
  return r;
}

/** Streams `f` honouring Range / If-Range / If-None-Match; returns the status sent. */
export async function sendFile(
  req: Request,
  res: Response,
  f: ImageFile,
  onStatus: (status: number) => void = () => {},
  cache?: BlobCache,
): Promise<number> {
  const etag = `"${f.sha256}"`;
  res.setHeader("ETag", etag);
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("Last-Modified", new Date(f.mtimeMs).toUTCString());
  // The URL names the content: it can be cached for ever.
  res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
  res.setHeader("Content-Type", "application/octet-stream");
  const inm = req.headers["if-none-match"];
  if (inm && inm.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
    onStatus(304);
    res.status(304).end();
    return 304;
  }
  const ifRange = req.headers["if-range"];
  const range =
    ifRange && ifRange !== etag ? { kind: "none" as const } : parseRange(req.headers.range, f.size);
  if (range.kind === "unsatisfiable") {
    res.setHeader("Content-Range", `bytes */${f.size}`);
    onStatus(416);
    res.status(416).end();
    return 416;
  }
  let start = 0;
  let end = f.size - 1;
  let status = 200;
  if (range.kind === "range") {
    ({ start, end } = range);
    status = 206;
    res.setHeader("Content-Range", `bytes ${start}-${end}/${f.size}`);
  }
  res.setHeader("Content-Length", String(Math.max(0, end - start + 1)));
  res.status(status);
  onStatus(status);
  if (req.method === "HEAD" || f.size === 0) {
    res.end();
    return status;
  }
  const blob = await cache?.get(f.sha256, f.path, f.size);
  if (blob) {
    // One slice of the shared copy: the socket takes it as it drains.
    res.end(blob.subarray(start, end + 1));
    return status;
  }
  const fh = await open(f.path, "r");
  try {
    await pumpRange(fh.fd, start, end, res);
  } finally {
    await fh.close();
  }
  res.end();
  return status;
}
