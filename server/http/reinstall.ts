// POST /api/v1/admin/hosts/:name/reinstall (issue #16): netboot arms like
// `next`; ssh and kexec start the run at once with a token pinned to the
// machine's address and answer what the CLI needs to start it there.
// GET /api/v1/admin/payload: the current image's payload binary, for the CLI
// to pipe over ssh (it checks the sha256 the manifest names).
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import express, { type Request, type Router } from "express";
import type { HostEntry } from "../hosts/index.ts";
import { parseAction, ActionError, type Action } from "../policy/actions.ts";
import { kernelCmdline } from "../policy/ipxe.ts";
import { decideReinstall, isVia, payloadArgv, VIAS, type Via } from "../policy/reinstall.ts";
import { bootScript } from "./boot.ts";
import type { AppDeps } from "./deps.ts";
import { HttpError } from "./errors.ts";

export interface ReinstallHelpers {
  host(req: Request): HostEntry;
  /** What POST .../next does (checks, arms, logs), returning its answer. */
  arm(h: HostEntry, action: Action): Promise<{ state: string; cancelledRun?: number }>;
}

/** The run-API path of an image file for a run's token (run-api.ts serves it). */
export const runImagePath = (token: string, file: string) => `/api/v1/run/${token}/image/${file}`;

export function reinstallRoutes(r: Router, deps: AppDeps, x: ReinstallHelpers): void {
  const { store, config, log } = deps;

  r.post("/api/v1/admin/hosts/:name/reinstall", express.json(), async (req, res) => {
    const h = x.host(req);
    const body = (req.body ?? {}) as { via?: unknown; action?: unknown; address?: unknown };
    const via = typeof body.via === "string" && isVia(body.via) ? body.via : undefined;
    if (!via) throw new HttpError(400, `body: via: one of ${VIAS.join(", ")}`);
    const text = body.action === undefined ? "install" : body.action;
    if (typeof text !== "string") throw new HttpError(400, "body: action: expected a string");
    if (body.address !== undefined && typeof body.address !== "string")
      throw new HttpError(400, "body: address: expected a string");
    let action: Action;
    try {
      action = parseAction(text);
    } catch (err) {
      if (err instanceof ActionError) throw new HttpError(400, err.message, { cause: err });
      throw err;
    }
    const lastKnown = h.macs.map((m) => store.obs.ipFor(m)).find((ip) => ip !== undefined);
    const d = decideReinstall({
      host: h.name,
      via,
      action,
      layoutMode: (deps.resolveSpec(h).layout as { mode: string }).mode,
      ...(typeof body.address === "string" ? { address: body.address } : {}),
      ...(lastKnown ? { lastKnown } : {}),
    });
    if (!d.ok) throw new HttpError(d.status, d.reason);
    const afterEvent = store.lastEventId(h.name);
    if (via === "netboot") {
      const afterRun = store.latestRun(h.name)?.id ?? 0;
      const armed = await x.arm(h, action);
      const woke: string[] = [];
      if (deps.wake) for (const mac of h.macs) await deps.wake(mac).then(() => woke.push(mac));
      res.json({
        host: h.name,
        via,
        action,
        state: armed.state,
        afterRun,
        afterEvent,
        woke,
        ...(armed.cancelledRun !== undefined ? { cancelledRun: armed.cancelledRun } : {}),
      });
      return;
    }
    res.json({
      host: h.name,
      via,
      action,
      afterEvent,
      ...(await startRemote(h, via, action, d.address!)),
    });
  });

  /** ssh and kexec: what the machine needs, then the run (nothing is started when something is missing). */
  async function startRemote(
    h: HostEntry,
    via: Exclude<Via, "netboot">,
    action: Action,
    ip: string,
  ) {
    const image = await deps.images.current();
    if (!image)
      throw new HttpError(409, "there is no netboot image (images/current): automagic image build");
    const payload = via === "ssh" ? await deps.images.payload(image.id) : undefined;
    if (via === "ssh" && !payload)
      throw new HttpError(
        409,
        `image ${image.id} has no payload binary with a sha256 in its manifest: rebuild it (automagic image build)`,
      );
    const owner = deps.addressOwner?.(ip)?.mac;
    const mac = owner && h.macs.includes(owner) ? owner : h.macs[0]!;
    const begun = store.beginRemote(h.name, action, mac, ip, `reinstall --via ${via}`);
    const { runId: run, token } = begun;
    log.info({ host: h.name, run, via, action, ip }, "reinstall: run started, token pinned");
    const common = {
      run,
      token,
      address: ip,
      serverUrl: config.serverUrl,
      ...(begun.cancelledRun !== undefined ? { cancelledRun: begun.cancelledRun } : {}),
    };
    if (payload)
      return {
        ...common,
        payload: {
          sha256: payload.sha256,
          bytes: payload.size,
          argv: payloadArgv(config.serverUrl, action),
        },
      };
    const script = bootScript(config, image, { mac, host: h.name, action, runId: run, token });
    return {
      ...common,
      kexec: {
        kernelUrl: config.serverUrl + runImagePath(token, "vmlinuz"),
        initrdUrl: config.serverUrl + runImagePath(token, "initrd.img"),
        kernelSha256: image.files.vmlinuz.sha256,
        initrdSha256: image.files["initrd.img"].sha256,
        cmdline: kernelCmdline(script),
      },
    };
  }

  r.get("/api/v1/admin/payload", async (_req, res) => {
    const image = await deps.images.current();
    const payload = image && (await deps.images.payload(image.id));
    if (!payload)
      throw new HttpError(404, "the current image has no payload binary (automagic image build)");
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Length", String(payload.size));
    res.setHeader("X-Automagic-Sha256", payload.sha256);
    res.setHeader("Cache-Control", "no-store");
    await pipeline(createReadStream(payload.path), res);
  });
}
