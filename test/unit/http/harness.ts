// Builds the control-plane app as a value over a temporary state dir and a
// small fake image, and listens on an ephemeral loopback port.
import type { AppDeps } from "../../../server/http/deps.ts";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pino } from "pino";
import { createApp } from "../../../server/http/app.ts";
import type { AppConfig } from "../../../server/http/deps.ts";
import type { OpsSources } from "../../../server/http/ops.ts";
import { SysImageStore } from "../../../server/sysimgs/store.ts";
import { ImageCatalog } from "../../../server/http/images.ts";
import { StateStore, type StoreOptions } from "../../../server/state/store.ts";
import type { HostEntry } from "../../../server/hosts/index.ts";
import { fakeHost, fakeRegistry, fakeSpec } from "../../fakes/control-hosts.ts";

export const KNOWN = "52:54:00:aa:00:01";
export const OTHER = "52:54:00:aa:00:02";
export const UNKNOWN = "52:54:00:ff:ff:ff";

export interface Harness {
  url: string;
  store: StateStore;
  sysimgs: SysImageStore;
  dir: string;
  initrd: Buffer;
  clock: { now: number };
  /**
   * The fake neighbour table behind `addressOwner`: who the server believes
   * is at an address. Loopback starts as KNOWN (ws1), so ws1's boot script
   * and run API work from the test; point it elsewhere to play an attacker.
   */
  neighbours: Map<string, string>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    image?: boolean;
    config?: Partial<AppConfig>;
    manifest?: string;
    hosts?: HostEntry[];
    store?: StoreOptions;
    ops?: OpsSources;
    /** What a host file resolves to; default fakeSpec. */
    resolveSpec?: AppDeps["resolveSpec"];
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "am-ctl-http-"));
  const imagesDir = join(dir, "images");
  mkdirSync(join(imagesDir, "img-1"), { recursive: true });
  const initrd = randomBytes(300_000);
  if (opts.image !== false) {
    writeFileSync(join(imagesDir, "img-1", "vmlinuz"), "kernel-bytes");
    writeFileSync(join(imagesDir, "img-1", "initrd.img"), initrd);
    symlinkSync("img-1", join(imagesDir, "current"));
    if (opts.manifest !== undefined)
      writeFileSync(join(imagesDir, "img-1", "manifest.json"), opts.manifest);
  }
  // a file outside the images tree, reachable only through a planted symlink
  writeFileSync(join(dir, "secret.txt"), "outside");
  mkdirSync(join(imagesDir, "evil"));
  symlinkSync(join(dir, "secret.txt"), join(imagesDir, "evil", "vmlinuz"));
  const clock = { now: Date.now() };
  const neighbours = new Map([["127.0.0.1", KNOWN]]);
  const store = new StateStore(join(dir, "state"), {
    now: () => clock.now,
    tokenTtlMs: 3600_000,
    ...opts.store,
  });
  const hosts = fakeRegistry(
    opts.hosts ?? [
      fakeHost("ws1", [KNOWN], { groups: ["lab", "workstations"] }),
      fakeHost("ws2", [OTHER], { groups: ["lab"], overlayDir: "/nonexistent" }),
    ],
  );
  const sysimgs = await new SysImageStore(
    join(dir, "state", "sysimgs"),
    () => new Date(clock.now),
  ).open();
  const app = createApp({
    config: {
      serverUrl: "http://127.0.0.1:8080",
      localBoot: "exit",
      bootTries: 10,
      stallMs: 600_000,
      ...opts.config,
    },
    hosts: () => hosts,
    store,
    images: new ImageCatalog(imagesDir),
    resolveSpec: opts.resolveSpec ?? fakeSpec,
    packOverlay: (h) => (h.overlayDir ? Readable.from([Buffer.from("tar-bytes")]) : undefined),
    sysimgs,
    addressOwner: (ip) => {
      const mac = neighbours.get(ip);
      return mac ? { mac, via: "neighbour" } : undefined;
    },
    ...(opts.ops ? { ops: opts.ops } : {}),
    log: pino({ level: "silent" }),
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    sysimgs,
    dir,
    initrd,
    clock,
    neighbours,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A request with the path sent byte for byte (fetch would normalise ".."),
 * optionally from another loopback address (`from: "127.0.0.2"`) and with a body.
 */
export function raw(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
  opts: { from?: string; body?: string | Buffer } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, path, method, headers, localAddress: opts.from },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** The token and URLs out of a rendered boot script. */
export function parseBootScript(text: string): { token: string; kernel: string; initrd: string } {
  const token = /automagic\.token=(\S+)/.exec(text)?.[1];
  const kernel = /^kernel (\S+)/m.exec(text)?.[1];
  const initrd = /^initrd --name initrd\.img (\S+)/m.exec(text)?.[1];
  if (!token || !kernel || !initrd) throw new Error(`not a boot script:\n${text}`);
  return { token, kernel, initrd };
}

/** Response body as JSON, loosely typed: tests assert on its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function json(r: Response | Promise<Response>): Promise<any> {
  return (await r).json();
}

/** POST a batch of run events with `token`, as the payload's reporter does. */
export function postEvents(h: Harness, token: string, events: unknown[]): Promise<Response> {
  return fetch(`${h.url}/api/v1/run/${token}/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
}
