// Cross-field checks: what a schema cannot see on one field alone. Pure:
// each returns issues as { path, message }; the loader adds the file name.
import { cryptHashSchema } from "../../payload/spec/schema.ts";
import {
  firmwareLicenseProblem,
  grubPlatform,
  shellProblem,
  unacceptedFirmware,
} from "../../payload/spec/needs.ts";
import type { HostDiskSelector, HostFile } from "./file-schema.ts";

export interface Issue {
  path: (string | number)[];
  message: string;
}

/** Keys that hold a password by their name: password, rootPassword, FOO_PASSWD, passphrase. */
const PASSWORD_KEY = /(pass(word|wd|phrase)|^pass)$/i;
/** user:secret@ in a URL (a binhost or mirror with credentials). */
const URL_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]+:[^/@\s]+@/i;

/**
 * Finds plaintext passwords anywhere in a parsed YAML document, before any
 * schema runs: a typo'd key must not let a password slip through as an
 * "unknown field" that someone then commits. users[].password is left to
 * the schema, which gives it a more precise message.
 */
export function findPlaintextPasswords(data: unknown, path: (string | number)[] = []): Issue[] {
  const out: Issue[] = [];
  if (Array.isArray(data)) {
    data.forEach((v, i) => out.push(...findPlaintextPasswords(v, [...path, i])));
  } else if (typeof data === "object" && data !== null) {
    for (const [k, v] of Object.entries(data)) {
      const p = [...path, k];
      const isUserPassword = path.length === 2 && path[0] === "users" && k === "password";
      if (typeof v === "string" && PASSWORD_KEY.test(k) && !isUserPassword && !isHashOrKeep(v)) {
        out.push({
          path: p,
          message:
            "looks like a plaintext password; only crypt(3) hashes are allowed in host files",
        });
      } else if (typeof v === "string" && URL_CREDENTIALS.test(v)) {
        out.push({
          path: p,
          message: "a URL with a password in it; put credentials outside the host repo",
        });
      } else {
        out.push(...findPlaintextPasswords(v, p));
      }
    }
  }
  return out;
}

function isHashOrKeep(v: string): boolean {
  return v === "keep" || v === "" || cryptHashSchema.safeParse(v).success;
}

/** Two selectors name the same disk if they share a stable identifier. */
export function sameDisk(a: HostDiskSelector, b: HostDiskSelector): boolean {
  if (a.serial && a.serial === b.serial) return true;
  if (a.byId && a.byId === b.byId) return true;
  if (a.wwn && b.wwn && a.wwn.replace(/^0x/, "") === b.wwn.replace(/^0x/, "")) return true;
  // Size-only selectors cannot be compared: undecidable, so not an error here
  // (the payload's planner checks the real devices).
  return false;
}

/** Checks within one host file. */
export function checkHost(h: HostFile): Issue[] {
  return [
    ...duplicates(h.macs, (m) => m, ["macs"]),
    ...duplicates(h.users ?? [], (u) => u.uid, ["users"], "uid"),
    ...duplicates(h.users ?? [], (u) => u.name, ["users"], "name"),
    ...duplicates(h.groups ?? [], (g) => g.gid, ["groups"], "gid"),
    ...duplicates(h.groups ?? [], (g) => g.name, ["groups"], "name"),
    ...checkLayout(h),
    ...checkInit(h),
    ...checkPackages(h),
  ];
}

/** What emerge or a login would fail on later: licences, shells, GRUB's platform. */
function checkPackages(h: HostFile): Issue[] {
  const out: Issue[] = unacceptedFirmware(h.kernel ?? {}, h.portage.license ?? []).map((k) => ({
    path: ["portage", "license"],
    message: firmwareLicenseProblem(k),
  }));
  (h.users ?? []).forEach((u, i) => {
    const why = shellProblem(u.shell, h.packages ?? []);
    if (why) out.push({ path: ["users", i, "shell"], message: why });
  });
  const platforms = h.portage.makeConf?.GRUB_PLATFORMS;
  const need = grubPlatform(h.firmware);
  if (platforms !== undefined && !platforms.split(/\s+/).includes(need))
    out.push({
      path: ["portage", "makeConf", "GRUB_PLATFORMS"],
      message: `"${platforms}" lacks ${need}, which grub-install needs for firmware ${h.firmware}`,
    });
  return out;
}

function duplicates<T>(
  items: T[],
  key: (t: T) => string | number,
  path: (string | number)[],
  field?: string,
): Issue[] {
  const seen = new Map<string | number, number>();
  const out: Issue[] = [];
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    const at = (n: number) => `${path.join(".")}[${n}]`;
    if (first === undefined) seen.set(k, i);
    else
      out.push({
        path: field ? [...path, i, field] : [...path, i],
        message: `${k} is also used by ${at(first)}`,
      });
  });
  return out;
}

function checkLayout(h: HostFile): Issue[] {
  const { layout } = h;
  if (layout.mode === "create") return checkWipe(h, layout.wipe, "create");
  if (layout.mode === "keep") {
    const out = notHome(h, { root: layout.root, swap: layout.swap, esp: layout.esp });
    if (h.firmware === "uefi" && !layout.esp) {
      out.push({
        path: ["layout", "esp"],
        message: "required when firmware is uefi and layout is keep",
      });
    }
    return out;
  }
  if (layout.wipe) return checkWipe(h, layout.wipe, "ab");
  const out = notHome(h, {
    "slots.a": layout.slots?.a,
    "slots.b": layout.slots?.b,
    boot: layout.boot,
    esp: layout.esp,
    swap: layout.swap,
  });
  const need = h.firmware === "uefi" ? "esp" : "boot";
  const wrong = h.firmware === "uefi" ? "boot" : "esp";
  if (!layout[need])
    out.push({
      path: ["layout", need],
      message: `required when firmware is ${h.firmware} and layout ab adopts slots (the shared partition GRUB and its boot state live on)`,
    });
  if (layout[wrong])
    out.push({
      path: ["layout", wrong],
      message: `not used when firmware is ${h.firmware}; the shared partition is layout.${need}`,
    });
  return out;
}

/** create, ab with wipe: only the target disk may be wiped, and /home is not on it. */
function checkWipe(h: HostFile, wipe: HostDiskSelector, mode: string): Issue[] {
  const out: Issue[] = [];
  if (!sameDisk(wipe, h.disk)) {
    out.push({
      path: ["layout", "wipe"],
      message: `must select the same disk as \`disk\` (${mode} may only wipe the target disk)`,
    });
  }
  if (h.home.disk && (sameDisk(h.home.disk, h.disk) || sameDisk(h.home.disk, wipe))) {
    out.push({
      path: ["home", "disk"],
      message: `/home is on the disk that layout ${mode} would wipe`,
    });
  }
  return out;
}

/** Partitions a layout names (by their path under layout) that are the /home partition. */
function notHome(h: HostFile, refs: Record<string, object | undefined>): Issue[] {
  const home = JSON.stringify(h.home.ref);
  const out: Issue[] = [];
  for (const [field, ref] of Object.entries(refs)) {
    if (!ref || JSON.stringify(ref) !== home) continue;
    out.push({
      path: ["layout", ...field.split(".")],
      message:
        field === "root"
          ? "is the /home partition; root is reformatted"
          : field.startsWith("slots.")
            ? "is the /home partition; a slot is reformatted"
            : "is the /home partition",
    });
  }
  return out;
}

function checkInit(h: HostFile): Issue[] {
  const out: Issue[] = [];
  const systemd = h.init === "systemd";
  if (/systemd/.test(h.portage.profile) !== systemd) {
    out.push({
      path: ["portage", "profile"],
      message: `"${h.portage.profile}" does not match init ${h.init}`,
    });
  }
  const variant = h.stage3?.variant;
  if (variant !== undefined && /systemd/.test(variant) !== systemd) {
    out.push({
      path: ["stage3", "variant"],
      message: `"${variant}" does not match init ${h.init}`,
    });
  }
  return out;
}

export interface Located {
  name: string;
  file: string;
  host: HostFile;
}

/** Checks across all hosts: a MAC or a static address must belong to one host only. */
export function checkAcrossHosts(hosts: Located[]): { file: string; issue: Issue }[] {
  const out: { file: string; issue: Issue }[] = [];
  const macOwner = new Map<string, string>();
  const ipOwner = new Map<string, string>();
  for (const { file, host } of hosts) {
    host.macs.forEach((mac, i) => {
      const owner = macOwner.get(mac);
      if (owner === undefined) macOwner.set(mac, file);
      else if (owner !== file)
        out.push({
          file,
          issue: { path: ["macs", i], message: `${mac} is also used by ${owner}` },
        });
    });
    if (host.network.mode === "static") {
      const ip = host.network.address.split("/")[0]!;
      const owner = ipOwner.get(ip);
      if (owner === undefined) ipOwner.set(ip, file);
      else
        out.push({
          file,
          issue: { path: ["network", "address"], message: `${ip} is also used by ${owner}` },
        });
    }
  }
  return out;
}
