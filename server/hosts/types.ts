// The loaded host registry: what the server, DHCP reservations and the CLI use.
import type { HostFile } from "./file-schema.ts";
import { normalizeMac } from "../policy/mac.ts";

export interface HostEntry {
  name: string;
  /** The host file as named in messages, e.g. hosts/web1.yaml */
  file: string;
  /** Lower-case colon form. */
  macs: string[];
  firmware: "bios" | "uefi";
  /** Absolute path of hosts/<name>/files if present. */
  overlayDir?: string;
  /** Inventory groups. */
  groups: string[];
  /** The normalised host file (defaults merged, sizes in bytes, secrets resolved). */
  raw: HostFile;
}

export interface HostRegistry {
  /** Absolute path of the host folder. */
  dir: string;
  hosts: HostEntry[];
  /** Any MAC notation is accepted. */
  byMac(mac: string): HostEntry | undefined;
  byName(name: string): HostEntry | undefined;
}

export function createRegistry(dir: string, hosts: HostEntry[]): HostRegistry {
  const macs = new Map<string, HostEntry>();
  for (const h of hosts) for (const m of h.macs) macs.set(m, h);
  const names = new Map(hosts.map((h) => [h.name, h]));
  return {
    dir,
    hosts,
    byMac: (mac) => {
      const m = normalizeMac(mac);
      return m === undefined ? undefined : macs.get(m);
    },
    byName: (name) => names.get(name),
  };
}
