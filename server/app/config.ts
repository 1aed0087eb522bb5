// `automagic serve` configuration: a YAML file and/or flags, merged (flags
// win), then validated with zod so a typo stops the start naming the field.
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { GENTOO_KEYS, issueLines } from "../../payload/spec/schema.ts";
import { dhcpUserSchema } from "../dhcp/config.ts";
import { parseSize } from "../hosts/units.ts";
import { readTokenFile } from "./admin-token.ts";

/**
 * Where an installed server keeps things: its config under /etc/automagic,
 * its state under /var/lib/automagic. AUTOMAGIC_ROOT puts both under another
 * root (tests, a second instance); nothing else moves them by itself.
 */
export function installPaths(env: NodeJS.ProcessEnv = process.env) {
  const root = env.AUTOMAGIC_ROOT || "/";
  const etc = join(root, "etc/automagic");
  const state = join(root, "var/lib/automagic");
  return { etc, configFile: join(etc, "serve.yaml"), hostsDir: join(etc, "hosts"), state };
}

const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, "an IPv4 address");

/** "90s", "15m", "6h", "2d" or plain milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === "number") return text;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration like 90s, 15m, 6h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86400_000 }[m[2] ?? "ms"]!;
  return Math.round(Number(m[1]) * unit);
}

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** "64G", "512MiB" or plain bytes (server/hosts/units.ts). */
const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (typeof bytes === "number") return bytes;
  ctx.addIssue({ code: "custom", message: bytes });
  return z.NEVER;
});

export const serveConfigSchema = z
  .object({
    /** The served interface: DHCP binds to it, Wake-on-LAN goes out on it. */
    interface: z.string().min(1).max(15).optional(),
    /** Address HTTP and TFTP listen on (and, in DHCP, the server identifier). */
    listen: ipv4.default("127.0.0.1"),
    /** Base URL machines use; default http://<listen>:<http.port>. */
    serverUrl: z.string().url().optional(),
    http: z
      .object({
        port: z.number().int().min(0).max(65535).default(8080),
        /** Memory for shared in-memory copies of kernel/initrd (0: stream from disk). */
        artifactCacheMiB: z.number().int().min(0).default(512),
        /**
         * Host names the admin API answers to besides loopback names, IP
         * addresses and serverUrl's host (DNS rebinding sends other names).
         */
        allowedHosts: z.array(z.string().min(1)).default([]),
        /** A request's body must have arrived by then (uploads: sysimgs.idleTimeout instead). */
        requestTimeout: duration.default(300_000),
      })
      .strict()
      .default({ port: 8080, artifactCacheMiB: 512, allowedHosts: [], requestTimeout: 300_000 }),
    tftp: z
      .object({
        enabled: z.boolean().default(true),
        port: z.number().int().min(0).max(65535).default(69),
      })
      .strict()
      .default({ enabled: true, port: 69 }),
    /** server/dhcp settings a person writes (dhcpUserSchema: strict, every key checked). */
    dhcp: dhcpUserSchema.default({ mode: "off" }),
    /** Defaults: installPaths() (/etc/automagic/hosts, /var/lib/automagic[/images]). */
    hostsDir: z.string().default(() => installPaths().hostsDir),
    stateDir: z.string().default(() => installPaths().state),
    imagesDir: z.string().default(() => join(installPaths().state, "images")),
    ipxeDir: z.string().default("/usr/lib/ipxe"),
    /** The verifying Gentoo cache (server/mirror) served at /mirror/. */
    mirror: z
      .object({
        /** Gentoo mirror URL or a local directory in the same layout (the fixture). */
        upstream: z.string().min(1).optional(),
        /** Where Gentoo's binhost (releases/amd64/binpackages/) comes from; default: upstream. */
        binhostUpstream: z.string().min(1).optional(),
        /** Default <stateDir>/mirror-cache. */
        cacheDir: z.string().optional(),
        /** Gentoo's public keys, <FPR>.asc; default /etc/automagic/mirror-keys. */
        keysDir: z.string().default(() => join(installPaths().etc, "mirror-keys")),
        /** Cache size limit (GiB); least recently served units no host file uses make room. */
        maxCacheGiB: z.number().positive().default(50),
      })
      .strict()
      .default(() => ({ keysDir: join(installPaths().etc, "mirror-keys"), maxCacheGiB: 50 })),
    /** Captured system images (server/sysimgs), kept in <stateDir>/sysimgs. */
    sysimgs: z
      .object({
        /** The largest capture upload kept (413 beyond it). */
        maxBytes: size.default(64 * 2 ** 30),
        /** Space an upload leaves free on the state disk (507 when it would take it). */
        keepFree: size.default(2 ** 30),
        /** An upload pausing this long between bytes is cut (it has no total limit). */
        idleTimeout: duration.default(120_000),
      })
      .strict()
      .default({ maxBytes: 64 * 2 ** 30, keepFree: 2 ** 30, idleTimeout: 120_000 }),
    /**
     * Commissioning: a machine whose MAC no host file claims boots the RAM
     * system once and reports its hardware (action discover), instead of its
     * disk. Off by default: an unknown machine boots local.
     */
    commission: z
      .object({
        unknown: z.boolean().default(false),
        /** After a discover run (any host's): power off, or reboot to the disk. */
        then: z.enum(["poweroff", "reboot"]).default("poweroff"),
        /**
         * Addresses an unknown machine may ask from when the server cannot tie
         * the address to its MAC (a relay): netboot.allowFrom for machines
         * without a host file.
         */
        allowFrom: z
          .array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/, "an IPv4 address or CIDR"))
          .default([]),
      })
      .strict()
      .default({ unknown: false, then: "poweroff", allowFrom: [] }),
    trustedKeys: z.array(z.string().regex(/^[0-9A-F]{40}$/)).default(GENTOO_KEYS),
    tokenTtl: duration.default(6 * 3600_000),
    stallAfter: duration.default(15 * 60_000),
    /** A served boot script whose payload never fetches its spec ends after this (back to local). */
    bootWindow: duration.default(30 * 60_000),
    /** An armed action no machine boots goes back to local after this. */
    armFor: duration.default(24 * 3600_000),
    /** Events kept per run; past it only terminal events are stored. */
    eventsPerRun: z.number().int().min(100).default(20_000),
    localBoot: z.enum(["exit", "sanboot"]).default("exit"),
    bootTries: z.number().int().min(1).max(100).default(10),
    extraCmdline: z.string().optional(),
    /**
     * Admin bearer token, or a file holding it (mode 0600 or stricter). Without
     * either, `serve` generates <stateDir>/admin-token (server/app/admin-token.ts).
     */
    adminToken: z.string().min(16).optional(),
    adminTokenFile: z.string().optional(),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  })
  .strict();

export type ServeConfig = z.output<typeof serveConfigSchema>;

/** Deep-merges flag values over file values (objects merge, everything else replaces). */
export function mergeConfig(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      v &&
      typeof v === "object" &&
      !Array.isArray(v) &&
      b &&
      typeof b === "object" &&
      !Array.isArray(b)
        ? mergeConfig(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export function parseServeConfig(data: unknown, source: string): ServeConfig {
  const r = serveConfigSchema.safeParse(data ?? {});
  if (r.success) return r.data;
  const lines = issueLines(r.error, source);
  throw new Error(lines.join("\n"), { cause: r.error });
}

/** Config keys that name files or folders (mirror upstreams only when not a URL). */
const PATH_KEYS = [
  ["hostsDir"],
  ["stateDir"],
  ["imagesDir"],
  ["ipxeDir"],
  ["adminTokenFile"],
  ["mirror", "cacheDir"],
  ["mirror", "keysDir"],
  ["mirror", "upstream"],
  ["mirror", "binhostUpstream"],
] as const;

/**
 * The same values with every relative path made absolute against `base`: a
 * config file's folder for its values (so a service finds them from any
 * cwd), the cwd for flags.
 */
export function absolutePaths(values: Record<string, unknown>, base: string) {
  const out = structuredClone(values);
  for (const keys of PATH_KEYS) {
    const parent = keys.length === 1 ? out : out[keys[0]];
    const key = keys[keys.length - 1]!;
    if (!parent || typeof parent !== "object") continue;
    const obj = parent as Record<string, unknown>;
    const v = obj[key];
    if (typeof v === "string" && v && !isAbsolute(v) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(v))
      obj[key] = resolve(base, v);
  }
  return out;
}

/** `--config`, else /etc/automagic/serve.yaml when it exists (installPaths). */
export function configFileFor(given: string | undefined): string | undefined {
  if (given) return given;
  const file = installPaths().configFile;
  return existsSync(file) ? file : undefined;
}

export function loadServeConfig(
  file: string | undefined,
  flags: Record<string, unknown>,
): ServeConfig {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new Error(`${file}: cannot read config: ${(err as Error).message}`, { cause: err });
    }
    try {
      fromFile = (parseYaml(text) ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${file}: not valid YAML: ${(err as Error).message}`, { cause: err });
    }
  }
  const merged = mergeConfig(
    file ? absolutePaths(fromFile, dirname(resolve(file))) : {},
    absolutePaths(flags, process.cwd()),
  );
  const cfg = parseServeConfig(merged, file ?? "flags");
  if (cfg.adminTokenFile && cfg.adminToken)
    throw new Error(`${file ?? "flags"}: adminToken, adminTokenFile: give one, not both`);
  if (cfg.adminTokenFile) cfg.adminToken = readTokenFile(cfg.adminTokenFile);
  return cfg;
}

export function serverUrlOf(cfg: ServeConfig, httpPort: number): string {
  return (cfg.serverUrl ?? `http://${cfg.listen}:${httpPort}`).replace(/\/+$/, "");
}
