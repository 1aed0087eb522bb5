// GET /boot.ipxe: every boot path ends here (BIOS PXE -> undionly.kpxe,
// UEFI PXE -> snponly.efi, UEFI HTTP boot -> /ipxe/snponly.efi, iPXE ROMs
// directly), and the answer comes from server/policy alone.
import { Router, type Request } from "express";
import { proveAddress } from "../policy/address.ts";
import { decideBoot, type BootRequest, type Decision } from "../policy/decide.ts";
import { renderIpxe, type BootScript, type Script } from "../policy/ipxe.ts";
import { normalizeMac } from "../policy/mac.ts";
import { discoveredHost } from "../policy/actions.ts";
import type { AppConfig, AppDeps } from "./deps.ts";
import { artifactPath, type CurrentImage } from "./images.ts";
import { noteBootDecision } from "./request-metrics.ts";

function q(req: Request, key: string): string | undefined {
  const v = req.query[key];
  return typeof v === "string" && v !== "" ? v.slice(0, 200) : undefined;
}

export function clientIp(req: Request): string | undefined {
  const a = req.socket.remoteAddress;
  return a?.startsWith("::ffff:") ? a.slice(7) : a;
}

export function bootRouter(deps: AppDeps): Router {
  const r = Router();
  const { config, store, log } = deps;
  r.get("/boot.ipxe", async (req, res) => {
    res.type("text/plain").setHeader("Cache-Control", "no-store");
    const rawMac = q(req, "mac") ?? q(req, "bootif");
    if (!rawMac) {
      res.send(renderIpxe({ kind: "chain", serverUrl: config.serverUrl }));
      return;
    }
    const mac = normalizeMac(rawMac);
    const ip = clientIp(req);
    if (!mac) {
      log.warn({ mac: rawMac, ip }, "boot.ipxe: not a MAC, answering local");
      res.send(renderIpxe(local(rawMac.replace(/[^0-9A-Za-z:-]/g, "?"), "malformed MAC", deps)));
      return;
    }
    const breq: BootRequest = { mac };
    const uuid = q(req, "uuid");
    const arch = q(req, "arch");
    if (uuid) breq.uuid = uuid;
    if (arch) breq.arch = arch;
    const host = deps.hosts().byMac(mac);
    if (!host) {
      store.obs.discover(mac, { arch, uuid, ip, via: "boot.ipxe" });
    }
    // Commissioning: an unknown MAC's discover run is filed under a name of
    // its own, and its token is bound to that MAC like any host's.
    const commission = !host && config.commission?.unknown === true;
    const runHost = host?.name ?? (commission ? discoveredHost(mac) : undefined);
    // The token goes only to the machine at the other end: the asking address
    // must belong to the MAC asked for (server/policy/address.ts). A foreign
    // request neither gets the token nor consumes the armed action.
    const proof = runHost
      ? proveAddress({
          ip,
          macs: [mac],
          owner: ip ? deps.addressOwner?.(ip) : undefined,
          allowFrom: host ? (host.raw.netboot?.allowFrom ?? []) : [...config.commission!.allowFrom],
        })
      : undefined;
    const image = runHost && proof?.ok ? await deps.images.current() : undefined;
    let begun: { decision: Decision; runId?: number; token?: string };
    if (!runHost) {
      begun = { decision: decideBoot(undefined, undefined, breq) };
    } else if (!proof?.ok) {
      const reason = `boot script asked for ${mac} from ${ip ?? "?"}: ${proof?.reason ?? "no proof"}`;
      log.warn({ mac, ip, host: runHost }, reason);
      begun = { decision: { kind: "local", reason } };
    } else {
      begun = store.decideAndBegin(
        runHost,
        mac,
        (f) => decideBoot(host, f, breq, { commission }),
        image !== undefined,
        ip,
      );
    }
    const { decision, runId, token } = begun;
    let script: Script;
    if (decision.kind === "local") {
      script = local(mac, decision.reason, deps);
    } else if (!image || !token || runId === undefined) {
      const message = `${decision.action} is armed for ${runHost} but there is no netboot image (images/current); booting local, action stays armed`;
      log.error({ mac, host: runHost, action: decision.action }, message);
      script = { kind: "error", mac, message, localBoot: config.localBoot };
    } else {
      script = bootScript(config, image, {
        mac,
        host: runHost!,
        action: decision.action,
        runId,
        token,
      });
    }
    const served =
      script.kind === "boot" ? script.action : script.kind === "error" ? "error" : "local";
    store.obs.trace(mac, "http", "boot.ipxe served", {
      decision: served,
      reason: decision.reason,
      host: host?.name,
      run: runId,
      arch,
      ip,
    });
    log.info(
      { mac, host: host?.name ?? null, decision: served, reason: decision.reason, run: runId },
      "boot decision",
    );
    noteBootDecision(res, served);
    res.send(renderIpxe(script));
  });
  return r;
}

/**
 * A run's boot script: what boot.ipxe serves, and (its kernel command line)
 * what `reinstall --via kexec` boots the same image with. One source for both.
 */
export function bootScript(
  config: AppConfig,
  image: CurrentImage,
  run: Pick<BootScript, "mac" | "host" | "action" | "runId" | "token">,
): BootScript {
  const k = image.files.vmlinuz;
  const i = image.files["initrd.img"];
  return {
    kind: "boot",
    ...run,
    serverUrl: config.serverUrl,
    kernelUrl: config.serverUrl + artifactPath(image.id, "vmlinuz", k.sha256),
    initrdUrl: config.serverUrl + artifactPath(image.id, "initrd.img", i.sha256),
    tries: config.bootTries,
    localBoot: config.localBoot,
    ...(image.kernelArgs ? { imageArgs: image.kernelArgs } : {}),
    ...(config.extraCmdline ? { extraCmdline: config.extraCmdline } : {}),
  };
}

function local(mac: string, reason: string, deps: AppDeps): Script {
  return { kind: "local", mac, reason, localBoot: deps.config.localBoot };
}
