// Composition for `automagic serve`: host registry, state, images, the HTTP
// app, DHCP and TFTP, wired from one ServeConfig. Each piece is built
// elsewhere; this file only connects them and owns their lifetimes.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { Log } from "../log.ts";
import { startDhcpServer, type DhcpServer } from "../dhcp/index.ts";
import { resolveInstallSpec, type HostEntry } from "../hosts/index.ts";
import { createApp } from "../http/app.ts";
import { httpServer } from "../http/deadlines.ts";
import { ImageCatalog } from "../http/images.ts";
import { packOverlay } from "../overlay/pack.ts";
import { overlayAttrs } from "./overlay-attrs.ts";
import {
  createMirrorRouter,
  demandFromHosts,
  MirrorCache,
  parseMirrorConfig,
  type MirrorGate,
} from "../mirror/index.ts";
import { isStalled } from "../policy/state-machine.ts";
import { StateStore } from "../state/store.ts";
import { SysImageStore } from "../sysimgs/store.ts";
import { dhcpCheck, httpCheck, mirrorCheck, tftpCheck } from "./health-checks.ts";
import { startTftpService, type TftpService } from "./tftp-service.ts";
import { serveToken } from "./admin-token.ts";
import { serverUrlOf, type ServeConfig } from "./config.ts";
import { LiveHosts } from "./hosts-watch.ts";
import { reservationFor } from "./reservations.ts";
import { sendWake } from "./wol.ts";
import { neighbourMac } from "./neigh.ts";
import type { AddressOwner } from "../policy/address.ts";

export interface RunningServer {
  url: string;
  httpPort: number;
  store: StateStore;
  hosts: LiveHosts;
  /**
   * Settles when a protocol server stopped by itself (its listening socket
   * errored or closed underneath; the error names the socket). The CLI then
   * exits non-zero, and systemd restarts serve. Never settles otherwise.
   */
  failed: Promise<Error>;
  close(): Promise<void>;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((res, rej) => {
    server.once("error", (err) =>
      rej(new Error(`http: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })),
    );
    server.listen(port, host, () => res());
  });
  return (server.address() as AddressInfo).port;
}

/** The cache behind /mirror/ (server/mirror): only when an upstream is configured. */
function mirrorCache(cfg: ServeConfig, log: Log, gate: MirrorGate): MirrorCache | undefined {
  if (!cfg.mirror.upstream) {
    log.warn({}, "mirror: no upstream configured; /mirror/ answers 404");
    return undefined;
  }
  return new MirrorCache(
    parseMirrorConfig({
      upstream: cfg.mirror.upstream,
      ...(cfg.mirror.binhostUpstream ? { binhostUpstream: cfg.mirror.binhostUpstream } : {}),
      cacheDir: resolve(cfg.mirror.cacheDir ?? join(cfg.stateDir, "mirror-cache")),
      keysDir: resolve(cfg.mirror.keysDir),
      trustedKeys: cfg.trustedKeys,
      maxCacheGiB: cfg.mirror.maxCacheGiB,
    }),
    { log, gate },
  );
}

export async function startServer(cfg: ServeConfig, log: Log): Promise<RunningServer> {
  const hosts = await LiveHosts.load(resolve(cfg.hostsDir), log);
  const stateDir = resolve(cfg.stateDir);
  const store = new StateStore(stateDir, {
    tokenTtlMs: cfg.tokenTtl,
    windows: { armForMs: cfg.armFor, bootWindowMs: cfg.bootWindow },
    eventsPerRun: cfg.eventsPerRun,
  });
  const cleanups: Array<() => Promise<void> | void> = [() => store.close(), () => hosts.close()];
  let die: (err: Error) => void = () => {};
  const failed = new Promise<Error>((res) => (die = res));
  const closeAll = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.error({ err }, "shutdown step failed");
      }
    }
  };
  try {
    const images = new ImageCatalog(resolve(cfg.imagesDir));
    // Hash the current image now, not on the first machine's boot.
    const current = await images.current();
    log.info({ image: current?.id ?? null }, current ? "image ready" : "no images/current yet");
    if (current?.warning) log.warn({ image: current.id }, current.warning);
    // Port 0 (tests) is only known after listen; the URL is read lazily.
    let serverUrl = serverUrlOf(cfg, cfg.http.port);
    // Who is at an address: our DHCP lease (once DHCP runs), else the kernel's
    // neighbour entry (server/policy/address.ts says why that is the proof).
    let dhcp: DhcpServer | undefined;
    let tftp: TftpService | undefined;
    const listeners: Server[] = [];
    // TFTP traces ask for every event, refused floods included, so the
    // neighbour table (a /proc read) is looked at once per address per second.
    const neighbours = new Map<string, { mac: string | undefined; at: number }>();
    const addressOwner = (ip: string): AddressOwner | undefined => {
      const leased = dhcp?.leaseHolder(ip);
      if (leased) return { mac: leased, via: "lease" };
      const now = Date.now();
      let n = neighbours.get(ip);
      if (!n || now - n.at > 1000) {
        if (neighbours.size > 4096) neighbours.clear();
        n = { mac: neighbourMac(ip), at: now };
        neighbours.set(ip, n);
      }
      return n.mac ? { mac: n.mac, via: "neighbour" } : undefined;
    };
    // Always a token: configured, else generated into the state folder.
    const admin = serveToken(cfg, stateDir);
    log.info({ tokenFile: admin.adminTokenFile ?? null }, "admin API: bearer token required");
    const resolveSpec = (h: HostEntry) =>
      resolveInstallSpec(h, { mirrorUrl: `${serverUrl}/mirror/`, trustedKeys: cfg.trustedKeys });
    const config = {
      get serverUrl() {
        return serverUrl;
      },
      localBoot: cfg.localBoot,
      bootTries: cfg.bootTries,
      extraCmdline: cfg.extraCmdline,
      stallMs: cfg.stallAfter,
      ...admin,
      allowedHosts: [...cfg.http.allowedHosts, new URL(serverUrl).hostname],
      ipxeDir: cfg.ipxeDir,
      artifactCacheBytes: cfg.http.artifactCacheMiB * 1024 * 1024,
      commission: cfg.commission,
    };
    // Without a valid run token, the mirror fetches only what host files use.
    const mirror = mirrorCache(cfg, log, {
      demand: demandFromHosts(
        () => hosts.get().hosts,
        resolveSpec,
        (h, err) => log.warn({ err, host: h.name }, "mirror: host spec does not resolve"),
      ),
      authorize: (token) => store.checkToken(token).ok,
    });
    mirror?.upstreamHealth.current(); // the first probe now, so /healthz has an answer early
    const app = createApp({
      config,
      hosts: () => hosts.get(),
      store,
      images,
      resolveSpec,
      packOverlay: (h) =>
        h.overlayDir ? packOverlay(h.overlayDir, { attrs: overlayAttrs(h) }) : undefined,
      mirror: mirror && createMirrorRouter(mirror.cfg, { cache: mirror, log }),
      sysimgs: await new SysImageStore(join(stateDir, "sysimgs"), undefined, {
        limits: { maxBytes: cfg.sysimgs.maxBytes, keepFreeBytes: cfg.sysimgs.keepFree },
        log,
      }).open(),
      wake: cfg.interface ? (mac) => sendWake(cfg.interface!, mac) : undefined,
      addressOwner,
      ops: {
        checks: () => [
          dhcpCheck(cfg.dhcp.mode, dhcp !== undefined),
          tftpCheck(cfg.tftp.enabled, tftp),
          httpCheck(listeners),
          mirrorCheck(mirror),
        ],
        dhcp: () => dhcp?.stats(),
        tftp: () => tftp?.stats(),
        mirror: () => mirror?.stats(),
      },
      log,
    });
    const deadlines = {
      requestMs: cfg.http.requestTimeout,
      uploadIdleMs: cfg.sysimgs.idleTimeout,
    };
    const primary = httpServer(app, deadlines, log);
    listeners.push(primary);
    cleanups.push(() => closeHttp(primary));
    const port = await listen(primary, cfg.http.port, cfg.listen);
    serverUrl = serverUrlOf(cfg, port);
    // The CLI talks to the admin API on loopback; add a loopback listener when
    // the main one is on a LAN address.
    if (!cfg.listen.startsWith("127.") && cfg.listen !== "0.0.0.0") {
      const lo = httpServer(app, deadlines, log);
      listeners.push(lo);
      cleanups.push(() => closeHttp(lo));
      await listen(lo, port, "127.0.0.1");
    }
    log.info({ url: serverUrl, listen: cfg.listen, port }, "http: serving");

    if (cfg.dhcp.mode !== "off") {
      if (!cfg.interface) throw new Error("config: interface: required when dhcp.mode is not off");
      const { bootfiles, ...settings } = cfg.dhcp;
      dhcp = await startDhcpServer(
        {
          ...settings,
          leaseFile: join(stateDir, "dhcp-leases.jsonl"),
          bootfiles: bootfiles ?? {
            bios: "undionly.kpxe",
            uefi: "snponly.efi",
            httpBoot: `${serverUrl}/ipxe/snponly.efi`,
          },
          interface: cfg.interface,
          serverIp: cfg.listen,
          ipxeScriptUrl: `${serverUrl}/boot.ipxe`,
        },
        {
          log,
          onTrace: (ev) => store.obs.trace(ev.mac, "dhcp", ev.what, ev.detail),
          reservationFor: (mac) => reservationFor(hosts.get(), mac),
          onFatal: die,
        },
      );
      const d = dhcp;
      cleanups.push(() => d.close());
    }
    // The lease copy in the state database (for status and inventory after a
    // restart) is rewritten by the sweep, and only when it changed.
    let savedLeases = "";
    const syncLeases = () => {
      if (!dhcp) return;
      const leases = dhcp.leases();
      const key = JSON.stringify(leases);
      if (key === savedLeases) return;
      savedLeases = key;
      store.obs.saveLeases(leases);
    };

    if (cfg.tftp.enabled) {
      tftp = await startTftpService(
        {
          root: cfg.ipxeDir,
          address: cfg.listen,
          port: cfg.tftp.port,
          interface: cfg.interface,
        },
        {
          onTrace: (ev) => {
            const mac = addressOwner(ev.peer.replace(/:\d+$/, ""))?.mac;
            if (mac) store.obs.trace(mac, "tftp", ev.what, { peer: ev.peer, ...ev.detail });
          },
          onFatal: die,
        },
        log,
      );
      const t = tftp;
      cleanups.push(() => t.close());
    }

    // Stalled runs: shown by status from the clock; logged and traced once here.
    const reported = new Set<number>();
    const sweep = setInterval(
      () => {
        syncLeases();
        for (const h of hosts.get().hosts) {
          const expired = store.expire(h.name);
          if (expired) {
            log.warn({ host: h.name, macs: h.macs }, expired.reason);
            for (const mac of h.macs)
              store.obs.trace(mac, "policy", "expired", { reason: expired.reason });
          }
          const run = store.latestRun(h.name);
          if (!run || reported.has(run.id) || !isStalled(run, Date.now(), cfg.stallAfter)) continue;
          reported.add(run.id);
          log.warn(
            { host: h.name, macs: h.macs, run: run.id, step: run.currentStep },
            "run stalled",
          );
          for (const mac of h.macs) store.obs.trace(mac, "policy", "run stalled", { run: run.id });
        }
      },
      Math.min(30_000, Math.max(1000, cfg.stallAfter / 4)),
    );
    sweep.unref();
    cleanups.push(() => clearInterval(sweep));

    hosts.watch();
    const onHup = () => void hosts.reload("SIGHUP");
    process.on("SIGHUP", onHup);
    cleanups.push(() => void process.off("SIGHUP", onHup));

    return { url: serverUrl, httpPort: port, store, hosts, failed, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function closeHttp(s: Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((res) => s.close(() => res()));
}
