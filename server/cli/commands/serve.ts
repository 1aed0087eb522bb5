// automagic serve: DHCP + TFTP + HTTP from one config (YAML and/or flags).
import { resolve } from "node:path";
import type { Command } from "commander";
import { pino } from "pino";
import { configFileFor, installPaths, loadServeConfig } from "../../app/config.ts";
import { startServer } from "../../app/serve.ts";
import { HostFileError } from "../../hosts/index.ts";
import { registerInit } from "./init.ts";

interface ServeFlags {
  config?: string;
  interface?: string;
  listen?: string;
  serverUrl?: string;
  httpPort?: string;
  tftpPort?: string;
  noTftp?: boolean;
  tftp?: boolean;
  dhcpMode?: string;
  hosts?: string;
  state?: string;
  images?: string;
  ipxeDir?: string;
  mirrorUpstream?: string;
  adminTokenFile?: string;
  tokenTtl?: string;
  stallAfter?: string;
  localBoot?: string;
  logLevel?: string;
}

const int = (v: string | undefined) => (v === undefined ? undefined : Number(v));

/** Flags as a partial config object (undefined = not given, the file decides). */
export function flagsToConfig(f: ServeFlags): Record<string, unknown> {
  return {
    interface: f.interface,
    listen: f.listen,
    serverUrl: f.serverUrl,
    http: f.httpPort === undefined ? undefined : { port: int(f.httpPort) },
    tftp:
      f.tftpPort === undefined && f.tftp !== false
        ? undefined
        : { port: int(f.tftpPort), enabled: f.tftp !== false ? undefined : false },
    dhcp: f.dhcpMode === undefined ? undefined : { mode: f.dhcpMode },
    hostsDir: f.hosts,
    stateDir: f.state,
    imagesDir: f.images,
    ipxeDir: f.ipxeDir,
    mirror: f.mirrorUpstream === undefined ? undefined : { upstream: f.mirrorUpstream },
    adminTokenFile: f.adminTokenFile,
    tokenTtl: f.tokenTtl,
    stallAfter: f.stallAfter,
    localBoot: f.localBoot,
    logLevel: f.logLevel,
  };
}

/** `serve`, and `init`, which writes serve's starter config. */
export function registerServe(program: Command): void {
  registerInit(program);
  program
    .command("serve")
    .description("run DHCP, TFTP and HTTP (boot scripts, artifacts, payload API, admin API)")
    .option(
      "-c, --config <file>",
      "YAML config file, flags override it (default /etc/automagic/serve.yaml if present)",
    )
    .option("-i, --interface <name>", "served interface (DHCP, Wake-on-LAN)")
    .option("-l, --listen <ip>", "address for HTTP and TFTP (default 127.0.0.1)")
    .option("--server-url <url>", "base URL machines reach the server at")
    .option("--http-port <n>", "HTTP port (default 8080)")
    .option("--tftp-port <n>", "TFTP port (default 69)")
    .option("--no-tftp", "do not run TFTP")
    .option("--dhcp-mode <mode>", "full | proxy | off (default off)")
    .option("--hosts <dir>", "host folder (default /etc/automagic/hosts)")
    .option("--state <dir>", "state folder (default /var/lib/automagic)")
    .option("--images <dir>", "netboot images folder (default <state>/images)")
    .option("--ipxe-dir <dir>", "iPXE binaries (default /usr/lib/ipxe)")
    .option(
      "--mirror-upstream <url|dir>",
      "Gentoo mirror (or fixture dir) the /mirror/ cache verifies",
    )
    .option(
      "--admin-token-file <file>",
      "admin bearer token file, mode 0600 (default: <state>/admin-token, generated)",
    )
    .option("--token-ttl <duration>", "run token lifetime (default 6h)")
    .option("--stall-after <duration>", "mark a silent run stalled after (default 15m)")
    .option("--local-boot <how>", "exit | sanboot (default exit)")
    .option("--log-level <level>", "debug | info | warn | error")
    .action(async (flags: ServeFlags) => {
      const file = configFileFor(flags.config);
      const cfg = loadServeConfig(file, flagsToConfig(flags));
      const log = pino({ level: cfg.logLevel, base: { svc: "automagic" } });
      if (file) log.info({ config: resolve(file) }, "config: read");
      else log.info({ looked: installPaths().configFile }, "config: no file; defaults and flags");
      let server;
      try {
        server = await startServer(cfg, log);
      } catch (err) {
        if (err instanceof HostFileError) {
          for (const m of err.messages) process.stderr.write(`${m}\n`);
          throw new Error(
            `serve: ${err.messages.length} problem(s) in ${cfg.hostsDir}; not starting`,
            {
              cause: err,
            },
          );
        }
        throw err;
      }
      const s = server;
      /** Closes everything, then exits with `code` (1 when closing failed). */
      const exitAfterClose = (code: number) =>
        s.close().then(
          () => process.exit(code),
          (err: unknown) => {
            log.error({ err }, "shutdown failed");
            process.exit(1);
          },
        );
      const stop = (sig: string) => {
        log.info({ signal: sig }, "shutting down");
        void exitAfterClose(0);
      };
      // A DHCP or TFTP socket died under the running server: stop, loudly, non-zero.
      // (`failed` only ever resolves; exitAfterClose handles a failing close.)
      void s.failed.then((err) => {
        log.fatal({ err }, `serve: ${err.message}; exiting`);
        process.stderr.write(`automagic serve: ${err.message}\n`);
        void exitAfterClose(1);
      });
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
}
