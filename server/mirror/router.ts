// GET/HEAD /mirror/<gentoo path>: serves verified files from the cache,
// fetching and verifying on a miss. Range requests are answered by
// express's sendFile (send), which also sets ETag/Last-Modified.
// A miss for something no host file uses is fetched only for a client with
// a valid run token (gate.ts); what is cached is served to anyone.
// Errors map to status codes here and only here.
import express, { type Request, type Response, type NextFunction } from "express";
import { SignatureError } from "../../shared/verify/gpg.ts";
import { NotInIndex } from "./binhost.ts";
import { NotInTree } from "./distfiles.ts";
import { CacheFull } from "./cache-ledger.ts";
import type { Log } from "../log.ts";
import { MirrorCache } from "./cache.ts";
import { parseMirrorConfig, type MirrorConfigInput } from "./config.ts";
import { bearerToken, unusedReason, type MirrorGate } from "./gate.ts";
import { classifyMirrorPath, type MirrorTarget } from "./paths.ts";
import { UpstreamMissing } from "./upstream.ts";

const TYPES: Array<[RegExp, string]> = [
  [/\.tar\.xz$/, "application/x-xz"],
  [/\.(asc|gpgsig)$/, "application/pgp-signature"],
  [/(\.txt|\.DIGESTS|\/Packages|\/layout\.conf|\.md5sum)$/, "text/plain; charset=utf-8"],
  [/\.gpkg\.tar$/, "application/x-tar"],
];

export interface MirrorRouterOptions {
  log?: Log;
  /** What the host files use and which run tokens are valid (ignored when `cache` is given: it has its own). */
  gate?: MirrorGate;
  /** Inject a prepared cache (tests, `mirror sync` sharing one). */
  cache?: MirrorCache;
}

/** The mirror endpoint as an express Router, to be mounted at /mirror. */
export function createMirrorRouter(
  cfg: MirrorConfigInput,
  opts: MirrorRouterOptions = {},
): express.Router {
  const cache =
    opts.cache ??
    new MirrorCache(parseMirrorConfig(cfg), {
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.gate ? { gate: opts.gate } : {}),
    });
  const log = opts.log ?? cache.log;
  const router = express.Router();
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    // req.path is still percent-encoded: classifyMirrorPath decodes it segment by segment.
    const c = classifyMirrorPath(req.path);
    if (!c.ok) {
      res.status(c.status).type("text/plain").send(`mirror: ${c.reason}\n`);
      return;
    }
    const unused = refusal(cache.gate, c.target, req.get("authorization"));
    // Held until the response ends: nothing evicts what is being sent.
    res.once("close", cache.hold(c.target));
    cache
      .resolve(c.target, { fetch: unused === undefined })
      .then((file) => {
        if (!file) {
          const why = unused ?? "not found";
          res.status(404).type("text/plain").send(`mirror: ${c.target.rel}: ${why}\n`);
          return;
        }
        const type = TYPES.find(([re]) => re.test(file))?.[1];
        if (type) res.type(type);
        // "latest" names and the binhost index change; dated builds and gpkgs never do.
        const immutable = ["stage3", "binpkg", "dated", "distfile"].includes(c.target.kind);
        res.sendFile(
          file,
          { dotfiles: "allow", maxAge: immutable ? "7d" : 0, immutable },
          (err) => {
            if (err && !res.headersSent) next(err);
          },
        );
      })
      .catch((err: unknown) => {
        const [status, why] = classifyError(err);
        log.warn({ err, rel: c.target.rel, status }, "mirror: request failed");
        if (!res.headersSent)
          res.status(status).type("text/plain").send(`mirror: ${c.target.rel}: ${why}\n`);
      });
  });
  return router;
}

/** Why this request may not make the mirror fetch `target`, or undefined when it may. */
function refusal(
  gate: MirrorGate | undefined,
  target: MirrorTarget,
  authorization: string | undefined,
): string | undefined {
  const why = gate && unusedReason(target, gate.demand());
  if (!why) return undefined;
  const token = bearerToken(authorization);
  if (token && gate.authorize(token)) return undefined;
  return `${why}; a valid run token (Authorization: Bearer) allows fetching it`;
}

/** One place that turns failures into HTTP answers. */
export function classifyError(err: unknown): [number, string] {
  if (err instanceof UpstreamMissing) return [404, "not on the upstream mirror"];
  if (err instanceof NotInIndex) return [404, "not in the binhost's Packages index"];
  if (err instanceof NotInTree) return [404, err.message.slice(err.rel.length + 2)];
  if (err instanceof CacheFull) return [507, err.message];
  if (err instanceof SignatureError)
    return [502, `upstream file failed verification: ${err.message}`];
  if (err instanceof Error && /mismatch/.test(err.message))
    return [502, `upstream file failed verification: ${err.message}`];
  if (err instanceof Error && /escapes|symlink leads outside|not a regular file/.test(err.message))
    return [403, "refused"];
  return [502, err instanceof Error ? err.message : String(err)];
}
