// Pure renderers for what phase 2 writes under /etc/portage, and its sync
// command (the emerge command lines are in render/emerge.ts). The host's
// own files (env/, patches/, extra package.* files) arrive with the overlay
// tar; these are the spec's lists.
import type { InstallSpec } from "../spec/schema.ts";

/** Portage reads package.* directories in lexical order; later lines win, so the spec comes last. */
export const SPEC_FILE = "zz-automagic";
/** Where a host's overlay file `etc/portage/package.use` (a file) lands once the name is a directory. */
export const OVERLAY_FILE = "50-overlay";
/** What a stage3's own package.* file is kept as when the name becomes a directory. */
export const LOCAL_FILE = "00-local";

export const PACKAGE_DIRS = [
  "package.use",
  "package.accept_keywords",
  "package.license",
  "package.mask",
  "package.unmask",
  "package.env",
] as const;

export interface PortageFile {
  /** Absolute path in the target system. */
  path: string;
  content: string;
}

const SOURCES: Array<[(typeof PACKAGE_DIRS)[number], keyof InstallSpec["portage"]]> = [
  ["package.use", "packageUse"],
  ["package.accept_keywords", "acceptKeywords"],
  ["package.license", "license"],
  ["package.mask", "mask"],
];

/**
 * One file per package.* directory, always written (an emptied list in the
 * spec must empty the file, so a reinstall converges to the spec).
 */
export function renderPortageFiles(spec: InstallSpec): PortageFile[] {
  return SOURCES.map(([dir, key]) => {
    const lines = dedupe(spec.portage[key] as string[]);
    const header =
      `# Written by automagic phase 2 from the host spec (portage.${key}).\n` +
      `# Change hosts/${spec.host} instead; this file is rewritten on every install.\n`;
    return {
      path: `/etc/portage/${dir}/${SPEC_FILE}`,
      content: header + lines.map((l) => `${l}\n`).join(""),
    };
  });
}

/** Keeps the first occurrence: a duplicated line in the spec must not become a duplicated line on disk. */
function dedupe(lines: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of lines) {
    const l = raw.trim();
    if (l === "" || seen.has(l)) continue;
    seen.add(l);
    out.push(l);
  }
  return out;
}

/**
 * An overlay may carry `etc/portage/package.use` as a single file while the
 * target uses a directory; it is placed inside the directory instead, so
 * both forms converge to one layout. Other paths pass through.
 */
export function remapPortagePath(rel: string, type: "file" | "directory" | "symlink"): string {
  const m = /^etc\/portage\/(package\.[a-z_]+)$/.exec(rel);
  if (m && type === "file" && (PACKAGE_DIRS as readonly string[]).includes(m[1]!)) {
    return `${rel}/${OVERLAY_FILE}`;
  }
  return rel;
}

export const SYNC_ARGV: readonly string[] = ["emerge", "--sync", "--quiet"];
const DAY_MS = 24 * 60 * 60 * 1000;

/** Gentoo asks users not to sync more than once a day; the stamp holds the last sync's ISO time. */
export function syncDue(stamp: string | undefined, now: Date): boolean {
  if (stamp === undefined) return true;
  const last = Date.parse(stamp.trim());
  if (Number.isNaN(last)) return true;
  return now.getTime() - last >= DAY_MS;
}
