// /api/v1/admin/*: arming, status, events (JSON or SSE), trace, discovered,
// inventory, wake. Who may ask is admin-guard.ts's to decide.
import { pickImage, type SysimgRef } from "../../shared/sysimgs.ts";
import { sysimgMetaSchema } from "../../payload/spec/schema.ts";
import express, { Router, type Request, type Response } from "express";
import { parseAction, ActionError, type Action } from "../policy/actions.ts";
import type { HostEntry } from "../hosts/index.ts";
import { adminGuard } from "./admin-guard.ts";
import type { AppDeps } from "./deps.ts";
import { HttpError } from "./errors.ts";
import { hostStatus, inventory } from "./views.ts";
import { abSlots } from "../app/slots.ts";
import { inventorySchema, inventorySummary } from "../../payload/spec/inventory.ts";
import { normalizeMac } from "../policy/mac.ts";
import { renderDraft } from "../hosts/draft.ts";
import { followEvents } from "./sse.ts";
import { reinstallRoutes } from "./reinstall.ts";

export function adminRouter(deps: AppDeps): Router {
  const r = Router();
  const { store, config, log } = deps;
  const now = () => Date.now();
  r.use(
    "/api/v1/admin",
    adminGuard({
      token: config.adminToken,
      tokenFile: config.adminTokenFile,
      allowedHosts: config.allowedHosts,
    }),
  );

  function host(req: Request): HostEntry {
    const name = String(req.params.name ?? "");
    const h = deps.hosts().byName(name);
    if (!h)
      throw new HttpError(404, `no host "${name}" in ${deps.hosts().hosts.length} host files`);
    return h;
  }
  const status = (h: HostEntry) => {
    const s = hostStatus(h, store.hostFacts(h.name), now(), config.stallMs);
    const inv = storedInventory(h.name);
    const slots =
      String(h.raw.layout?.mode) === "ab" // layout ab
        ? abSlots(store.slotEvents(h.name), (id) => store.run(id)?.action)
        : undefined;
    return {
      ...s,
      ...(inv
        ? { inventory: { reportedAt: inv.reportedAt, summary: inventorySummary(inv.inventory) } }
        : {}),
      ...(slots ? { slots } : {}),
    };
  };

  /**
   * The newest inventory of a host (under its name or, reported before it had
   * a host file, one of its MACs) or of a MAC no host file claims.
   */
  function storedInventory(name: string) {
    const mac = normalizeMac(name);
    const h = mac ? deps.hosts().byMac(mac) : deps.hosts().byName(name);
    if (!h && !mac)
      throw new HttpError(404, `no host "${name}" in ${deps.hosts().hosts.length} host files`);
    const found = store.inventory(h ? [h.name, ...h.macs] : [mac!]);
    const parsed = found && inventorySchema.safeParse(found.inventory);
    if (!found || !parsed?.success) return undefined;
    return {
      host: h?.name,
      macs: h ? h.macs : [mac!],
      ...(found.runId !== undefined ? { runId: found.runId } : {}),
      reportedAt: new Date(found.reportedAt).toISOString(),
      inventory: parsed.data,
    };
  }
  function requireInventory(req: Request) {
    const name = String(req.params.name ?? "");
    const inv = storedInventory(name);
    if (!inv)
      throw new HttpError(
        404,
        `no inventory for ${name}: arm a discover run (automagic next ${name} discover), or commission unknown machines (serve.yaml commission.unknown)`,
      );
    return inv;
  }

  r.get("/api/v1/admin/hosts", (_req, res) => {
    res.json(deps.hosts().hosts.map(status));
  });
  r.get("/api/v1/admin/hosts/:name", (req, res) => {
    const h = host(req);
    res.json({ ...status(h), runs: store.runs(h.name) });
  });
  r.post("/api/v1/admin/hosts/:name/next", express.json(), async (req, res) => {
    const h = host(req);
    const text = (req.body as { action?: unknown } | undefined)?.action;
    if (typeof text !== "string")
      throw new HttpError(400, 'body: action: expected a string like "install"');
    let action;
    try {
      action = parseAction(text);
    } catch (err) {
      if (err instanceof ActionError) throw new HttpError(400, err.message, { cause: err });
      throw err;
    }
    res.json(await arm(h, action));
  });
  /** Arms `action` (`next`, `reinstall --via netboot`): a deploy's image must be known first. */
  async function arm(h: HostEntry, action: Action) {
    if (action.startsWith("deploy:")) {
      // The image must be known in one of the host's stores: on the server,
      // or on its /home as its RAM system last reported (the payload checks
      // again, and verifies, before anything is paved).
      const asked = action.slice("deploy:".length);
      const known = await hostImages(h.name);
      try {
        pickImage<SysimgRef>(asked, known.home?.images ?? [], known.server);
      } catch (err) {
        throw new HttpError(
          404,
          `action "${action}": ${(err as Error).message} (automagic sysimgs ${h.name} lists them); nothing was armed`,
          { cause: err },
        );
      }
    }
    const out = store.arm(h.name, action);
    log.info({ host: h.name, macs: h.macs, action, cancelledRun: out.cancelledRun }, "armed");
    return { ...status(h), ...out };
  }
  reinstallRoutes(r, deps, { host, arm });
  r.get("/api/v1/admin/hosts/:name/events", (req, res) => {
    const h = host(req);
    const after = Number(req.query.after ?? 0) || 0;
    if (req.query.follow === "1" || req.headers.accept === "text/event-stream") {
      followEvents(req, res, store, h.name, after);
      return;
    }
    res.json(store.hostEvents(h.name, after));
  });
  // The hardware a discover run reported (#20); :name is a host or a MAC.
  r.get("/api/v1/admin/hosts/:name/inventory", (req, res) => {
    res.json(requireInventory(req));
  });
  r.get("/api/v1/admin/hosts/:name/draft", (req, res) => {
    const inv = requireInventory(req);
    const name = inv.host ?? `new-${inv.macs[0]!.replace(/:/g, "").slice(6)}`;
    const yaml = renderDraft({
      name,
      inventory: inv.inventory,
      macs: inv.macs,
      reportedAt: inv.reportedAt,
      ...(inv.runId !== undefined ? { runId: inv.runId } : {}),
    });
    res.json({ name, file: `${name}.yaml`, reportedAt: inv.reportedAt, yaml });
  });
  r.get("/api/v1/admin/hosts/:name/trace", (req, res) => {
    const h = host(req);
    res.json({ status: status(h), trace: store.obs.traceFor(h.macs) });
  });
  r.get("/api/v1/admin/trace/:mac", (req, res) => {
    res.json({ trace: store.obs.traceFor([String(req.params.mac).toLowerCase()]) });
  });
  r.get("/api/v1/admin/discovered", (_req, res) => {
    const reg = deps.hosts();
    res.json(store.obs.discovered((mac) => reg.byMac(mac) !== undefined));
  });
  r.get("/api/v1/admin/inventory", (_req, res) => {
    const hosts = deps.hosts().hosts;
    const states = new Map(hosts.map((h) => [h.name, status(h).state]));
    res.json(inventory(hosts, (mac) => store.obs.ipFor(mac), states));
  });
  /** Both stores of one host: the server's images, and its /home as last reported. */
  async function hostImages(name: string) {
    const all = deps.sysimgs ? await deps.sysimgs.list() : [];
    const reported = store.homeSysimgs(name);
    const home = reported && {
      reportedAt: new Date(reported.reportedAt).toISOString(),
      images: reported.images.flatMap((i) => {
        const p = sysimgMetaSchema.safeParse(i);
        return p.success ? [p.data] : [];
      }),
    };
    return { host: name, server: all.filter((i) => i.host === name), home };
  }
  r.get("/api/v1/admin/hosts/:name/sysimgs", async (req, res) => {
    res.json(await hostImages(host(req).name));
  });
  r.get("/api/v1/admin/sysimgs", async (_req, res) => {
    res.json(deps.sysimgs ? await deps.sysimgs.list() : []);
  });
  r.post("/api/v1/admin/hosts/:name/wake", async (req, res: Response) => {
    const h = host(req);
    if (!deps.wake) throw new HttpError(501, "wake: no served interface configured");
    for (const mac of h.macs) await deps.wake(mac);
    log.info({ host: h.name, macs: h.macs }, "wake-on-lan sent");
    res.json({ host: h.name, woke: h.macs });
  });
  return r;
}
