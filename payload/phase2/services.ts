// Pure: which service commands to run, given what is already enabled. The
// init system's own state on disk decides, so a second run runs nothing.
import type { InstallSpec } from "../spec/schema.ts";

export interface ServiceState {
  /** Enabled services -> where (OpenRC: runlevels; systemd: the *.wants dirs linking them). */
  enabled: ReadonlyMap<string, readonly string[]>;
}

export interface ServiceAction {
  service: string;
  op: "enable" | "disable";
  argv: string[];
}

/** systemd names are units; the spec may say "sshd" or "sshd.service". */
export function unitName(init: InstallSpec["init"], service: string): string {
  if (init === "openrc") return service;
  return /\.(service|socket|timer|path|target|mount)$/.test(service)
    ? service
    : `${service}.service`;
}

export function planServices(spec: InstallSpec, state: ServiceState): ServiceAction[] {
  const actions: ServiceAction[] = [];
  const enable = [...new Set(spec.services.enable)];
  const disable = [...new Set(spec.services.disable)].filter((s) => !enable.includes(s));
  for (const s of enable) {
    const name = unitName(spec.init, s);
    if (state.enabled.has(name)) continue;
    actions.push({
      service: s,
      op: "enable",
      argv:
        spec.init === "openrc"
          ? ["rc-update", "add", name, "default"]
          : ["systemctl", "enable", name],
    });
  }
  for (const s of disable) {
    const name = unitName(spec.init, s);
    const where = state.enabled.get(name);
    if (!where || where.length === 0) continue;
    if (spec.init === "systemd") {
      actions.push({ service: s, op: "disable", argv: ["systemctl", "disable", name] });
      continue;
    }
    for (const runlevel of where) {
      actions.push({ service: s, op: "disable", argv: ["rc-update", "del", name, runlevel] });
    }
  }
  return actions;
}

/** sshd goes last and only when something it reads changed, so a rerun does not drop sessions. */
export function sshdRestartArgv(init: InstallSpec["init"]): string[] {
  return init === "openrc"
    ? ["rc-service", "sshd", "restart"]
    : ["systemctl", "restart", "sshd.service"];
}
