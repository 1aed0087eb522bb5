// Host entry -> install spec: fills what the server supplies (mirror, trusted
// keys, overlay presence, defaults derived from other fields) and validates
// the result with the shared schema, so a spec that leaves here is one the
// payload will accept.
import {
  parseInstallSpec,
  SPEC_VERSION,
  type InstallSpec,
  type InstallSpecInput,
} from "../../payload/spec/schema.ts";
import { mirrorUrl } from "../../shared/verify/layout.ts";
import { binhostDir } from "../mirror/paths.ts";
import type { HostDiskSelector, HostFile } from "./file-schema.ts";
import type { HostEntry } from "./types.ts";

export interface ResolveContext {
  /** Base URL of the server's verifying mirror, e.g. http://10.0.0.1:8080/mirror/ */
  mirrorUrl: string;
  /** Primary-key fingerprints the payload accepts (GENTOO_RELEASE_KEY in production). */
  trustedKeys: string[];
}

export function resolveInstallSpec(host: HostEntry, ctx: ResolveContext): InstallSpec {
  const h = host.raw;
  const input: InstallSpecInput = {
    version: SPEC_VERSION,
    host: host.name,
    hostname: h.hostname ?? host.name,
    macs: h.macs,
    firmware: h.firmware,
    disk: toSpecDisk(h.disk),
    layout: toSpecLayout(h.layout),
    home: { ref: h.home.ref, fs: h.home.fs, options: h.home.options },
    rootfs: h.rootfs,
    init: h.init,
    stage3: {
      variant: h.stage3?.variant ?? h.init,
      mirror: h.stage3?.mirror ?? ctx.mirrorUrl,
      trustedKeys: h.stage3?.trustedKeys ?? ctx.trustedKeys,
    },
    portage: {
      ...h.portage,
      binhostUrl:
        h.portage.binhost === false ? undefined : binhostUrl(ctx.mirrorUrl, h.portage.profile),
    },
    locale: h.locale,
    timezone: h.timezone,
    keymap: h.keymap,
    network: h.network,
    users: (h.users ?? []).map((u) => {
      if (typeof u.password !== "string") {
        // The loader resolves every reference; reaching here is a bug.
        throw new Error(`${host.file}: users: secret "${u.password.secret}" was not resolved`);
      }
      return { ...u, password: u.password };
    }),
    groups: h.groups,
    keepSshHostKeys: h.keepSshHostKeys,
    kernel: h.kernel ?? {},
    packages: h.packages,
    services: h.services ?? {},
    overlay: { present: host.overlayDir !== undefined, protect: h.overlay?.protect },
    postInstall: { capture: captureStores(h.postInstall?.capture) },
    sysimgs: h.sysimgs ?? {},
  };
  return parseInstallSpec(dropUndefined(input), host.file);
}

/** Pure: the host file's layout as the spec carries it (sizes in bytes, `wipe: true`). */
export function toSpecLayout(l: HostFile["layout"]): InstallSpecInput["layout"] {
  if (l.mode === "keep") return l;
  if (l.mode === "create")
    return {
      mode: "create",
      wipe: true,
      espBytes: l.espSize,
      swapBytes: l.swapSize,
      rootBytes: l.rootSize,
    };
  const { wipe, espSize, bootSize, swapSize, slotSize, ...adopt } = l;
  if (wipe === undefined) return adopt;
  return {
    mode: "ab",
    wipe: true,
    espBytes: espSize,
    bootBytes: bootSize,
    swapBytes: swapSize,
    slotBytes: slotSize,
    tries: l.tries,
  };
}

/** Pure: the host file's postInstall.capture as the spec carries it (true = the server). */
export function captureStores(
  c: boolean | { to: Array<"home" | "server"> } | undefined,
): false | { to: Array<"home" | "server"> } {
  if (c === true) return { to: ["server"] };
  return c ? { to: c.to } : false;
}

/**
 * Gentoo's binhost for the profile's release through our mirror, e.g.
 * .../mirror/releases/amd64/binpackages/23.0/x86-64/ for default/linux/amd64/23.0/systemd.
 * x86-64 is the baseline ISA every amd64 machine runs.
 */
export function binhostUrl(mirror: string, profile: string): string {
  const release = /(\d+\.\d+)(\/|$)/.exec(profile)?.[1] ?? "23.0";
  return mirrorUrl(mirror, `${binhostDir(release, "x86-64")}/`);
}

function toSpecDisk(d: HostDiskSelector): InstallSpecInput["disk"] {
  return { serial: d.serial, byId: d.byId, wwn: d.wwn, minBytes: d.minSize, maxBytes: d.maxSize };
}

/** JSON has no undefined; dropping it keeps rendered specs and goldens tidy. */
function dropUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export const REDACTED = "<redacted>";

/**
 * A copy safe to print or log: password hashes and URL credentials replaced.
 * The result deliberately fails installSpecSchema ("<redacted>" is not a
 * hash), so a redacted spec can never be installed by mistake.
 */
export function redactSpec(spec: InstallSpec): InstallSpec {
  const copy = structuredClone(spec);
  for (const u of copy.users) {
    if (!["keep", "!", "*", "!*"].includes(u.password)) u.password = REDACTED;
  }
  copy.stage3.mirror = redactUrl(copy.stage3.mirror);
  if (copy.portage.binhostUrl) copy.portage.binhostUrl = redactUrl(copy.portage.binhostUrl);
  for (const [k, v] of Object.entries(copy.portage.makeConf))
    copy.portage.makeConf[k] = redactUrl(v);
  return copy;
}

function redactUrl(v: string): string {
  return v.replace(/(^|\s)([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, `$1$2${REDACTED}@`);
}
