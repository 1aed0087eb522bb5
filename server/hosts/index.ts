// Host files: the public API other modules code against.
// Stub committed first so dependants can compile; implementation follows.
import type { InstallSpec } from "../../payload/spec/schema.ts";

/** A normalised host file (MACs canonical, sizes in bytes, secrets resolved). */
export type HostFile = Record<string, unknown>;

export interface HostEntry {
  name: string;
  file: string;
  macs: string[];
  firmware: "bios" | "uefi";
  /** Absolute path of hosts/<name>/files if present. */
  overlayDir?: string;
  /** Inventory groups. */
  groups: string[];
  raw: HostFile;
}

export interface HostRegistry {
  dir: string;
  hosts: HostEntry[];
  byMac(mac: string): HostEntry | undefined;
  byName(name: string): HostEntry | undefined;
}

/** Every problem found in a host directory; each message is "file: path: reason". */
export class HostFileError extends Error {
  readonly messages: string[];
  constructor(messages: string[], options?: ErrorOptions) {
    super(messages.join("\n"), options);
    this.name = "HostFileError";
    this.messages = messages;
  }
}

export async function loadHostRegistry(dir: string): Promise<HostRegistry> {
  throw new HostFileError([`${dir}: (root): host loading not implemented yet`]);
}

export interface ResolveContext {
  mirrorUrl: string;
  trustedKeys: string[];
}

export function resolveInstallSpec(host: HostEntry, _ctx: ResolveContext): InstallSpec {
  throw new Error(`${host.file}: resolving not implemented yet`);
}

export function redactSpec(spec: InstallSpec): InstallSpec {
  return spec;
}
