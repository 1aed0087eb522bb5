// /api/v1/run/:token/* — what the payload calls. The token is the only
// credential: a MAC is not one. No valid, unexpired token, no secret.
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import express, { Router, type Request, type RequestHandler, type Response } from "express";
import { eventBatchSchema } from "../../payload/spec/events.ts";
import { issueLines } from "../../payload/spec/schema.ts";
import { INVENTORY_MAX_BYTES, inventorySchema } from "../../payload/spec/inventory.ts";
import type { HostEntry } from "../hosts/index.ts";
import { proveAddress } from "../policy/address.ts";
import type { RunFacts, RunPhase } from "../policy/state-machine.ts";
import { captureStoresOf, discoveredMac, isCapture } from "../policy/actions.ts";
import { sysimgMetaSchema, type InstallSpec, type RunSpec } from "../../payload/spec/schema.ts";
import { imageName, type SysImage } from "../sysimgs/store.ts";
import type { AppDeps } from "./deps.ts";
import { clientIp } from "./boot.ts";
import { HttpError } from "./errors.ts";
import { uploadDeadline } from "./deadlines.ts";
import { UploadRefused } from "../sysimgs/store.ts";
import { sendFile } from "./artifacts.ts";
import { isImageFile } from "./images.ts";

/** Who called with a valid token: a host's run, or (commissioning) an unknown MAC's. */
interface Caller {
  run: RunFacts;
  phase: RunPhase;
  /** Absent for the discover run of a machine no host file claims. */
  host?: HostEntry;
  /** The run's host name, or discoveredHost(mac). */
  name: string;
  macs: string[];
}

interface Authed extends Caller {
  host: HostEntry;
}

const homeListSchema = z.object({ images: z.array(sysimgMetaSchema).max(1000) }).strict();

export function runRouter(deps: AppDeps): Router {
  const r = Router();
  const { store, log } = deps;

  /** A host's run: what every route but discover, inventory and events needs. */
  function auth(req: Request, opts: { pin?: boolean } = {}): Authed {
    const a = caller(req, opts);
    if (!a.host)
      throw new HttpError(403, `run ${a.run.id} of ${a.name} may only report (discover)`);
    return a as Authed;
  }

  function caller(req: Request, opts: { pin?: boolean } = {}): Caller {
    const token = String(req.params.token ?? "");
    const c = store.checkToken(token);
    if (!c.ok) {
      // unknown -> 404 (nothing by that name); expired/revoked -> 401.
      throw new HttpError(c.reason === "unknown" ? 404 : 401, `run token ${c.reason}`);
    }
    const unknownMac = discoveredMac(c.run.host);
    const host = unknownMac ? undefined : deps.hosts().byName(c.run.host);
    if (!host && !unknownMac)
      throw new HttpError(410, `host ${c.run.host} no longer has a host file`);
    const macs = host ? host.macs : [unknownMac!];
    const allowFrom = host
      ? (host.raw.netboot?.allowFrom ?? [])
      : [...(deps.config.commission?.allowFrom ?? [])];
    // Bound to the machine: every call must come from an address of the
    // host's (server/policy/address.ts), and the first spec fetch pins the
    // token to its address; later calls must come from there. Not earlier:
    // the phase-1 payload reports its last events with the phase-2 token from
    // the RAM system's address, and the installed system may get another
    // address from a DHCP server that is not ours (proxy mode).
    const ip = clientIp(req);
    if (c.ip !== undefined) {
      if (ip !== c.ip) refuse(c.run, `bound to ${c.ip}, used from ${ip ?? "?"}`, c.ip, ip);
    } else {
      // Phases 1 and 3 (RAM system) may call from where their boot script
      // went, phase 2 from where phase 1 fetched its spec (the stragglers above).
      const earlier = c.phase === 2 ? c.run.specIp : c.run.bootIp;
      const proof = proveAddress({
        ip,
        macs,
        owner: ip ? deps.addressOwner?.(ip) : undefined,
        allowFrom,
        ...(earlier !== undefined ? { bootIp: earlier } : {}),
      });
      if (!proof.ok) refuse(c.run, proof.reason, earlier, ip);
      if (opts.pin) store.pinToken(c.hash, ip!);
    }
    return { run: c.run, phase: c.phase, name: c.run.host, macs, ...(host ? { host } : {}) };
  }

  function refuse(
    run: RunFacts,
    why: string,
    bound: string | undefined,
    ip: string | undefined,
  ): never {
    log.warn({ host: run.host, run: run.id, bound, ip }, `run token refused: ${why}`);
    throw new HttpError(401, `run token of run ${run.id}: ${why}`);
  }

  /** The image list a spec or a deploy shows the payload: the host's own images. */
  const serverImages = async (host: string): Promise<SysImage[]> =>
    ((await deps.sysimgs?.list()) ?? []).filter((i) => i.host === host);

  /** What this run does beyond the host file: a capture's image name and stores, a deploy's choices. */
  async function runSpec(a: Authed, spec: InstallSpec): Promise<RunSpec | undefined> {
    const action = a.phase === 3 ? "capture" : a.run.action;
    if (isCapture(action)) {
      const fromFile = spec.postInstall.capture ? spec.postInstall.capture.to : undefined;
      const to = captureStoresOf(action, fromFile) ?? ["server"];
      const name = store.runImage(a.run.id, () => imageName(a.host.name, new Date()));
      const ramImage = (await deps.images.current().catch(() => undefined))?.id;
      return { capture: { name, to, ...(ramImage ? { ramImage } : {}) } };
    }
    if (action.startsWith("deploy:")) {
      const server = (await serverImages(a.host.name)).map(
        ({ name, host, bytes, sha256, created }) => ({ name, host, bytes, sha256, created }),
      );
      return { deploy: { image: action.slice("deploy:".length), server } };
    }
    return undefined;
  }

  r.get("/api/v1/run/:token/spec", async (req, res) => {
    const a = auth(req, { pin: true });
    const resolved = deps.resolveSpec(a.host);
    // A capture follows an install only: a deploy restores an image, it does not make one.
    const base =
      a.run.action === "install"
        ? resolved
        : { ...resolved, postInstall: { capture: false as const } };
    const run = await runSpec(a, resolved);
    const spec = run ? { ...base, run } : base;
    store.markStarted(a.run.id, clientIp(req));
    for (const mac of a.host.macs) {
      store.obs.trace(mac, "payload", "spec fetched", {
        run: a.run.id,
        phase: a.phase,
        ip: clientIp(req),
      });
    }
    log.info({ host: a.host.name, run: a.run.id, phase: a.phase }, "spec served");
    res.setHeader("Cache-Control", "no-store");
    res.json(spec);
  });

  // The token is checked before a byte of the body is parsed; a batch is at
  // most MAX_BATCH events (payload/spec/events.ts), well under 1 MB.
  const callerFirst: RequestHandler = (req, res, next) => {
    res.locals.caller = caller(req);
    next();
  };
  const authFirst: RequestHandler = (req, res, next) => {
    res.locals.caller = auth(req);
    next();
  };
  const authed = (res: Response) => res.locals.caller as Authed;
  const called = (res: Response) => res.locals.caller as Caller;
  const json = express.json({ limit: "1mb" });

  r.post("/api/v1/run/:token/events", callerFirst, json, (req, res) => {
    const a = called(res);
    const parsed = eventBatchSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new HttpError(400, issueLines(parsed.error, "event batch").join("; "));
    }
    // A capture after the install reports as any capture does (phase 1);
    // its phase-3 token files it under phase 3.
    const events =
      a.phase === 3
        ? parsed.data.events.map((e) => ({ ...e, phase: 3 as const }))
        : parsed.data.events;
    const ahead = events.find((e) => e.phase > a.phase);
    if (ahead) {
      throw new HttpError(
        400,
        `events[seq ${ahead.seq}]: phase ${ahead.phase} with a phase-${a.phase} token`,
      );
    }
    // Store per declared phase: phase-1 stragglers may arrive with the phase-2 token.
    let accepted = 0;
    let duplicates = 0;
    let dropped = 0;
    let run = a.run;
    for (const phase of [1, 2, 3] as const) {
      const batch = events.filter((e) => e.phase === phase);
      if (batch.length === 0) continue;
      const out = store.appendEvents(a.run.id, phase, batch);
      accepted += out.accepted;
      duplicates += out.duplicates;
      dropped += out.dropped;
      run = out.run;
    }
    for (const e of events) {
      if (
        e.kind === "run-start" ||
        e.kind === "step-fail" ||
        e.kind === "run-done" ||
        e.kind === "phase-done"
      ) {
        for (const mac of a.macs) {
          store.obs.trace(mac, "payload", e.kind, {
            run: a.run.id,
            phase: e.phase,
            step: e.step,
            ip: clientIp(req),
          });
        }
        log.info({ host: a.name, run: a.run.id, kind: e.kind, step: e.step }, "run event");
      }
    }
    // Phase 2 done and the capture follows (it said so from the spec it was
    // served): the run waits in phase 3 for the reboot into the RAM system.
    const captureNext = events.some(
      (e) => e.phase === 2 && e.kind === "phase-done" && e.summary?.next === "capture",
    );
    if (captureNext && store.beginCapture(a.run.id)) {
      log.info(
        { host: a.name, run: a.run.id },
        "phase 2 done; capture follows on the next netboot",
      );
      run = store.run(a.run.id) ?? run;
    }
    if (dropped > 0)
      log.warn({ host: a.name, run: a.run.id, dropped }, "run event quota reached: events dropped");
    res.json({ accepted, duplicates, dropped, status: run.status, phase: run.phase });
  });

  r.post("/api/v1/run/:token/phase2", (req, res) => {
    const again = store.retryPhase2(String(req.params.token ?? ""), clientIp(req));
    if (again) {
      log.warn({ ip: clientIp(req) }, "phase 2 token issued again: the first answer was lost");
      res.json({ token: again });
      return;
    }
    const a = auth(req);
    if (a.phase !== 1) throw new HttpError(409, `run ${a.run.id} is already in phase 2`);
    const token = store.beginPhase2(a.run.id);
    log.info({ host: a.host.name, run: a.run.id }, "phase 2 token issued, phase 1 token revoked");
    res.json({ token });
  });

  // capture: the archive streams in, then the payload commits it with the
  // sha256 it computed; only then is it an image (server/sysimgs/store.ts).
  const captureRun = (req: Request) => {
    const a = auth(req);
    if (!isCapture(a.run.action) && a.phase !== 3)
      throw new HttpError(409, `run ${a.run.id} (action ${a.run.action}) is not a capture run`);
    if (!deps.sysimgs) throw new HttpError(501, "this server keeps no system images");
    return { a, sysimgs: deps.sysimgs };
  };
  // 413 over sysimgs.maxBytes, 507 when the state disk lacks the space; the
  // rest of the body is not read, so the connection closes after the answer.
  const uploadFailed = (err: unknown, req: Request, res: Response, run: number) => {
    res.setHeader("Connection", "close");
    if (err instanceof UploadRefused)
      return new HttpError(err.reason === "too-large" ? 413 : 507, err.message, { cause: err });
    if (!req.readableAborted) return err;
    log.warn({ run, err: (err as Error).message }, "system image upload broke off");
    return new HttpError(400, (err as Error).message, { cause: err });
  };
  r.put("/api/v1/run/:token/sysimg", async (req, res) => {
    const { a, sysimgs } = captureRun(req);
    // No total deadline for the upload, only an idle one (server/http/deadlines.ts).
    uploadDeadline(req);
    const length = req.headers["content-length"];
    try {
      const got = await sysimgs.receive(
        a.host.name,
        a.run.id,
        req,
        length ? Number(length) : undefined,
        store.runImage(a.run.id, () => imageName(a.host.name, new Date())),
      );
      log.info({ run: a.run.id, ...got }, "system image received");
      res.json(got);
    } catch (err) {
      throw uploadFailed(err, req, res, a.run.id);
    }
  });
  r.post("/api/v1/run/:token/sysimg/commit", authFirst, json, async (req, res) => {
    const { a, sysimgs } = captureRun(req);
    const body = req.body as { sha256?: unknown; source?: unknown } | undefined;
    if (typeof body?.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(body.sha256))
      throw new HttpError(400, "body: sha256: expected 64 lowercase hex digits");
    const source =
      body.source && typeof body.source === "object"
        ? (body.source as Record<string, unknown>)
        : {};
    try {
      const image = await sysimgs.commit(a.run.id, body.sha256, source);
      log.info({ host: a.host.name, run: a.run.id, image: image.name }, "system image stored");
      const keep = deps.resolveSpec(a.host).sysimgs.keep;
      if (keep !== undefined) {
        const protect = new Set([image.name, ...store.deployingImages()]);
        const removed = await sysimgs.prune(a.host.name, keep, protect);
        if (removed.length)
          log.info(
            { host: a.host.name, keep, removed },
            "system images beyond sysimgs.keep removed",
          );
      }
      res.json(image);
    } catch (err) {
      const status = err instanceof UploadRefused ? 507 : 409;
      throw new HttpError(status, (err as Error).message, { cause: err });
    }
  });

  // deploy: the image the run's action names, with the sha256 it was committed with.
  r.get("/api/v1/run/:token/sysimg", async (req, res) => {
    const a = auth(req);
    if (!a.run.action.startsWith("deploy:"))
      throw new HttpError(409, `run ${a.run.id} (action ${a.run.action}) is not a deploy run`);
    // The run names an image, or latest/previous: then the payload, which
    // also sees the images on the machine's /home, says which of the host's.
    const asked = a.run.action.slice("deploy:".length);
    const q = typeof req.query.name === "string" ? req.query.name : undefined;
    let name = asked;
    if (asked === "latest" || asked === "previous") {
      if (!q || !(await serverImages(a.host.name)).some((i) => i.name === q))
        throw new HttpError(
          404,
          `deploy:${asked}: ?name= must name one of ${a.host.name}'s images on this server`,
        );
      name = q;
    } else if (q !== undefined && q !== asked)
      throw new HttpError(409, `run ${a.run.id} deploys ${asked}, not ${q}`);
    const found = await deps.sysimgs?.find(name);
    if (!found) throw new HttpError(404, `no system image "${name}" on this server`);
    const { image, file } = found;
    res.setHeader("Content-Type", "application/zstd");
    res.setHeader("Content-Length", String(image.bytes));
    res.setHeader("X-Automagic-Sha256", image.sha256);
    res.setHeader("Cache-Control", "no-store");
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    await pipeline(createReadStream(file), res);
  });

  // The images on the machine's own /home, as its RAM system sees them
  // (capture and deploy report it), for `automagic sysimgs HOST`.
  r.post("/api/v1/run/:token/home-sysimgs", authFirst, json, (req, res) => {
    const a = authed(res);
    const parsed = homeListSchema.safeParse(req.body);
    if (!parsed.success)
      throw new HttpError(400, issueLines(parsed.error, "home-sysimgs").join("; "));
    store.setHomeSysimgs(a.host.name, parsed.data.images);
    res.json({ stored: parsed.data.images.length });
  });

  // discover (#20): what follows the inventory, and the MAC the run was served
  // to (the NIC that netbooted). Starts the run like a spec fetch, pins the
  // token; a discover run never gets the spec (no secrets for an unknown MAC).
  r.get("/api/v1/run/:token/discover", (req, res) => {
    const a = caller(req, { pin: true });
    if (a.run.action !== "discover")
      throw new HttpError(409, `run ${a.run.id} (action ${a.run.action}) is not a discover run`);
    store.markStarted(a.run.id, clientIp(req));
    for (const mac of a.macs)
      store.obs.trace(mac, "payload", "discover started", { run: a.run.id, ip: clientIp(req) });
    res.setHeader("Cache-Control", "no-store");
    res.json({
      then: deps.config.commission?.then ?? "poweroff",
      mac: store.runMac(a.run.id) ?? a.macs[0]!,
      ...(a.host ? { host: a.host.name } : {}),
    });
  });
  // The inventory: bounded (INVENTORY_MAX_BYTES), validated, filed under the
  // host's name, or the MAC of a machine no host file claims.
  r.post(
    "/api/v1/run/:token/inventory",
    callerFirst,
    express.json({ limit: INVENTORY_MAX_BYTES }),
    (req, res) => {
      const a = called(res);
      if (a.run.action !== "discover")
        throw new HttpError(409, `run ${a.run.id} (action ${a.run.action}) is not a discover run`);
      const parsed = inventorySchema.safeParse(req.body);
      if (!parsed.success)
        throw new HttpError(400, issueLines(parsed.error, "inventory").join("; "));
      const key = a.host?.name ?? a.macs[0]!;
      store.setInventory(key, a.run.id, parsed.data);
      log.info(
        {
          host: a.name,
          run: a.run.id,
          disks: parsed.data.disks.length,
          problems: parsed.data.problems.length,
        },
        "inventory stored",
      );
      res.json({ stored: key });
    },
  );

  // reinstall --via kexec: the machine fetches the current image's kernel and
  // initrd with its run's token (pinned to its address) before `kexec -l`.
  r.get("/api/v1/run/:token/image/:file", async (req, res) => {
    auth(req);
    const file = String(req.params.file);
    const image = isImageFile(file) ? await deps.images.current() : undefined;
    if (!image || !isImageFile(file)) throw new HttpError(404, `no image file ${file}`);
    await sendFile(req, res, image.files[file]);
  });

  r.get("/api/v1/run/:token/overlay.tar", async (req, res) => {
    const a = auth(req);
    const stream = deps.packOverlay?.(a.host);
    if (!stream)
      throw new HttpError(404, `host ${a.host.name} has no overlay (hosts/${a.host.name}/files)`);
    res.type("application/x-tar").setHeader("Cache-Control", "no-store");
    await pipeline(stream, res);
  });

  return r;
}
