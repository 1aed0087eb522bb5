// The /healthz checks of what `serve` runs (server/http/health.ts has the
// report and the state store's check). Each reads state already in memory;
// the mirror's comes from MirrorCache.upstreamHealth, which probes upstream
// at most once a minute and never while the asker waits.
import type { Server } from "node:http";
import type { ComponentCheck } from "../http/health.ts";
import type { MirrorCache } from "../mirror/index.ts";
import type { TftpService } from "./tftp-service.ts";

/** DHCP is up once started (a failed start stops serve; its sockets close only with serve). */
export function dhcpCheck(mode: string, running: boolean): ComponentCheck {
  if (mode === "off")
    return { name: "dhcp", state: "off", needed: false, detail: "dhcp.mode is off" };
  if (!running) return { name: "dhcp", state: "down", needed: true, detail: "not started yet" };
  return { name: "dhcp", state: "up", needed: true, detail: `${mode} mode` };
}

/** TFTP: its service's own check (down with the bind error while it retries), or off. */
export function tftpCheck(enabled: boolean, service: TftpService | undefined): ComponentCheck {
  if (!enabled)
    return { name: "tftp", state: "off", needed: false, detail: "tftp.enabled is false" };
  return (
    service?.check() ?? { name: "tftp", state: "down", needed: true, detail: "not started yet" }
  );
}

/** Every HTTP listener (the main one and the loopback one for the CLI) is listening. */
export function httpCheck(servers: readonly Server[]): ComponentCheck {
  const idle = servers.filter((s) => !s.listening);
  if (servers.length > 0 && idle.length === 0) return { name: "http", state: "up", needed: true };
  return { name: "http", state: "down", needed: true, detail: "a listener is not listening" };
}

/**
 * Not needed for a 200: the verified cache goes on serving what it holds,
 * and restarting serve does not bring an upstream back. Alert on
 * automagic_component_up{component="mirror"} instead.
 */
export function mirrorCheck(cache: MirrorCache | undefined): ComponentCheck {
  if (!cache)
    return { name: "mirror", state: "off", needed: false, detail: "no mirror.upstream configured" };
  const s = cache.upstreamHealth.current();
  return { name: "mirror", state: s.up === false ? "down" : "up", needed: false, detail: s.detail };
}
