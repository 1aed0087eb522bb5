// What the HTTP app needs from the rest of the server. `serve` wires the real
// things; tests pass object literals and a temporary state dir.
import type { Router } from "express";
import type { Log } from "../log.ts";
import type { InstallSpec } from "../../payload/spec/schema.ts";
import type { HostEntry, HostRegistry } from "../hosts/index.ts";
import type { AddressOwner } from "../policy/address.ts";
import type { LocalBoot } from "../policy/ipxe.ts";
import type { StateStore } from "../state/store.ts";
import type { SysImageStore } from "../sysimgs/store.ts";
import type { ImageCatalog } from "./images.ts";
import type { OpsSources } from "./ops.ts";

export type HostLookup = Pick<HostRegistry, "hosts" | "byMac" | "byName">;

export interface AppConfig {
  /** Base URL machines reach this server at, e.g. http://10.0.0.1:8080 (no trailing slash). */
  serverUrl: string;
  localBoot: LocalBoot;
  /** Kernel/initrd download attempts in the iPXE script. */
  bootTries: number;
  extraCmdline?: string;
  /** A run silent this long is shown as stalled. */
  stallMs: number;
  /** When set, every admin request needs `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  /** Where adminToken was read from; loopback clients are told (admin-guard.ts). */
  adminTokenFile?: string;
  /** Host names the admin API answers besides loopback names and IP addresses. */
  allowedHosts?: readonly string[];
  /** Where UEFI HTTP boot fetches iPXE from (/ipxe/<file>); usually /usr/lib/ipxe. */
  ipxeDir?: string;
  /** Memory for shared copies of the boot artifacts (blob-cache.ts); 0 or absent streams from disk. */
  artifactCacheBytes?: number;
  /** serve.yaml `commission`; absent: unknown MACs boot local, discover runs power off. */
  commission?: {
    unknown: boolean;
    then: "poweroff" | "reboot";
    allowFrom: readonly string[];
  };
}

export interface AppDeps {
  config: AppConfig;
  /** The current host registry; a getter because SIGHUP swaps it. */
  hosts: () => HostLookup;
  store: StateStore;
  images: ImageCatalog;
  resolveSpec: (host: HostEntry) => InstallSpec;
  packOverlay?: (host: HostEntry) => NodeJS.ReadableStream | undefined;
  mirror?: Router;
  /** Captured system images; absent: capture uploads are refused. */
  sysimgs?: SysImageStore;
  /**
   * Who is at an address: our DHCP lease, else the kernel's neighbour entry.
   * A run token goes only to the machine that owns the asking address.
   */
  addressOwner?: (ip: string) => AddressOwner | undefined;
  /** Sends a Wake-on-LAN packet on the served interface. */
  wake?: (mac: string) => Promise<void>;
  /** What /healthz and /metrics read besides the store (ops.ts). */
  ops?: OpsSources;
  log: Log;
}
