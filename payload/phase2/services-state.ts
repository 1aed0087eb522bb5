// Reads which services the target has enabled, from the init system's own
// links on disk (works the same on a live system and in a chroot).
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import type { InstallSpec } from "../spec/schema.ts";
import { unitName, type ServiceState } from "./services.ts";

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

export async function readServiceState(
  root: string,
  init: InstallSpec["init"],
): Promise<ServiceState> {
  const enabled = new Map<string, string[]>();
  const add = (name: string, where: string) =>
    enabled.set(name, [...(enabled.get(name) ?? []), where]);
  if (init === "openrc") {
    const base = path.join(root, "etc/runlevels");
    for (const runlevel of (await list(base)).sort()) {
      for (const svc of await list(path.join(base, runlevel))) add(svc, runlevel);
    }
  } else {
    const base = path.join(root, "etc/systemd/system");
    for (const d of (await list(base)).filter((d) => d.endsWith(".wants")).sort()) {
      for (const unit of await list(path.join(base, d))) add(unit, d);
    }
  }
  return { enabled };
}

/** Where a unit file may live; lstat, since a link may point at the target's own absolute path. */
const UNIT_DIRS = ["etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system"];

/** Whether the target has the service's OpenRC script or systemd unit (what enabling needs). */
export async function serviceExists(
  root: string,
  init: InstallSpec["init"],
  service: string,
): Promise<boolean> {
  const candidates =
    init === "openrc"
      ? [path.join(root, "etc/init.d", service)]
      : UNIT_DIRS.map((d) => path.join(root, d, unitName(init, service)));
  for (const p of candidates) if (await lstat(p).catch(() => null)) return true;
  return false;
}
