// The HTTP app as a value: createApp(deps) returns an express app that tests
// drive in-process and `serve` listens with. No socket is opened here.
import express, { type Express } from "express";
import { existsSync } from "node:fs";
import type { AppDeps } from "./deps.ts";
import { adminRouter } from "./admin.ts";
import { artifactsRouter } from "./artifacts.ts";
import { BlobCache } from "./blob-cache.ts";
import { bootRouter, clientIp } from "./boot.ts";
import { errorHandler, HttpError } from "./errors.ts";
import { opsRouter } from "./ops.ts";
import { runRouter } from "./run-api.ts";
import { consoleRouter } from "../ui/router.ts";
import { sessionAuth } from "../ui/session.ts";

/** iPXE binaries UEFI HTTP boot may fetch (arch 16); nothing else from that dir. */
const IPXE_FILES = new Set(["snponly.efi", "ipxe.efi", "undionly.kpxe", "ipxe.pxe"]);

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  app.use(opsRouter(deps)); // first: its request counters see every request
  app.use(bootRouter(deps));
  const cacheBytes = deps.config.artifactCacheBytes ?? 0;
  app.use(
    artifactsRouter(deps.images, {
      cache: cacheBytes > 0 ? new BlobCache(cacheBytes) : undefined,
      // Artifact requests carry no MAC: the trace row goes to whoever our
      // lease or the neighbour table says is at the address.
      onFetch(req, id, file, status) {
        const ip = clientIp(req);
        const mac = ip ? deps.addressOwner?.(ip)?.mac : undefined;
        if (mac) deps.store.obs.trace(mac, "http", `${file} fetched`, { image: id, status, ip });
      },
    }),
  );
  app.get("/ipxe/:file", (req, res, next) => {
    const file = String(req.params.file);
    const dir = deps.config.ipxeDir;
    if (!dir || !IPXE_FILES.has(file) || !existsSync(`${dir}/${file}`)) {
      throw new HttpError(404, `no iPXE binary ${file}`);
    }
    res.sendFile(file, { root: dir, dotfiles: "deny" }, (err) => (err ? next(err) : undefined));
  });
  app.use(runRouter(deps));
  // The web console's session cookie stands for the admin token (server/ui/session.ts).
  app.use("/api/v1/admin", sessionAuth(deps.config));
  app.use(adminRouter(deps));
  app.use("/ui", consoleRouter(deps));
  if (deps.mirror) app.use("/mirror", deps.mirror);
  app.use((req) => {
    throw new HttpError(404, `no route ${req.method} ${req.path}`);
  });
  app.use(errorHandler(deps.log));
  return app;
}
