// TFTP as `serve` runs it. A port that cannot be bound (another tftpd holds
// port 69, the listen address is not up yet) does not stop serve: UEFI HTTP
// boot and iPXE need no TFTP, so HTTP and DHCP go on, /healthz names TFTP
// as down with the bind error, and the bind is tried again every retryMs
// until it works. Any other start error (no ipxeDir) still stops serve.
import type { Log } from "../log.ts";
import type { ComponentCheck } from "../http/health.ts";
import {
  startTftpServer,
  type TftpConfig,
  type TftpHooks,
  type TftpServer,
  type TftpStats,
} from "../tftp/index.ts";

export interface TftpService {
  check(): ComponentCheck;
  /** The running server's counters; undefined while it is not bound. */
  stats(): TftpStats | undefined;
  close(): Promise<void>;
}

const BIND_ERRORS = new Set(["EADDRINUSE", "EACCES", "EADDRNOTAVAIL"]);

function isBindError(err: unknown): boolean {
  const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && BIND_ERRORS.has(code);
}

/** `hooks.log` defaults to `log`; `hooks.onFatal` hears a listening socket that died. */
export async function startTftpService(
  cfg: TftpConfig,
  hooks: TftpHooks,
  log: Log,
  retryMs = 10_000,
): Promise<TftpService> {
  let server: TftpServer | undefined;
  let down: string | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const attempt = async (): Promise<void> => {
    try {
      const s = await startTftpServer(cfg, {
        log,
        ...hooks,
        // The listening socket died: TFTP is down (serve's onFatal decides the rest).
        onFatal: (err) => {
          server = undefined;
          down = err.message.replace(/^tftp: /, "");
          hooks.onFatal?.(err);
        },
      });
      if (closed) return void (await s.close());
      server = s;
      if (down) log.info({ port: s.port }, "tftp: bound after all; serving");
      down = undefined;
    } catch (err) {
      if (!isBindError(err)) throw err;
      const why = (err as Error).message.replace(/^tftp: /, "");
      if (why !== down)
        log.error({ err }, `tftp: ${why}; TFTP is down, trying again every ${retryMs / 1000} s`);
      down = why;
      if (!closed) {
        timer = setTimeout(() => {
          attempt().catch((e: unknown) => {
            down = (e as Error).message;
            log.error({ err: e }, "tftp: start failed");
          });
        }, retryMs);
        timer.unref();
      }
    }
  };
  await attempt();

  return {
    check(): ComponentCheck {
      if (closed) return { name: "tftp", state: "down", needed: true, detail: "stopped" };
      if (server) return { name: "tftp", state: "up", needed: true, detail: `port ${server.port}` };
      return {
        name: "tftp",
        state: "down",
        needed: true,
        detail: `${down ?? "not started"}; trying again every ${retryMs / 1000} s`,
      };
    },
    stats: () => server?.stats(),
    async close() {
      closed = true;
      clearTimeout(timer);
      await server?.close();
    },
  };
}
