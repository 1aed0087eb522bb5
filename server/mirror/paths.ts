// Which mirror paths exist, and how a request path maps to one. Pure.
// Only a fixed set of Gentoo paths is ever served or fetched: anything else
// (traversal, encoded slashes, NUL, backslashes, odd names) is refused
// before a file system call is made. Symlinks are handled by safeResolve().
import { realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { AUTOBUILDS, SNAPSHOT, SNAPSHOT_SIG } from "../../shared/verify/layout.ts";

export type MirrorTarget =
  | { kind: "key"; rel: string; fingerprint: string }
  | { kind: "pointer"; rel: string; variant: string }
  | {
      kind: "stage3";
      rel: string;
      variant: string;
      stamp: string;
      ext: "" | ".asc" | ".DIGESTS";
      tarballRel: string;
    }
  | { kind: "snapshot"; rel: string; ext: "" | ".gpgsig" }
  /** Gentoo's distfiles layout file, and a source tarball in it (distfiles.ts). */
  | { kind: "distlayout"; rel: string }
  | { kind: "distfile"; rel: string; bucket: string; name: string }
  /** emerge-webrsync's dated snapshot (installed systems' `emerge --sync`). */
  | {
      kind: "dated";
      rel: string;
      date: string;
      ext: "" | ".gpgsig" | ".md5sum";
      tarballRel: string;
    }
  | { kind: "binindex"; rel: string; release: string; isa: string }
  | {
      kind: "binpkg";
      rel: string;
      release: string;
      isa: string;
      /** The binhost's own relative path, as its Packages index names it in PATH. */
      path: string;
    };

export type Classified =
  { ok: true; target: MirrorTarget } | { ok: false; status: 400 | 404; reason: string };

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const POINTER = /^latest-stage3-amd64-([a-z0-9]+(?:-[a-z0-9]+)*)\.txt$/;
const STAMP = /^\d{8}T\d{6}Z$/;
const STAGE = /^stage3-amd64-([a-z0-9]+(?:-[a-z0-9]+)*)-(\d{8}T\d{6}Z)\.tar\.xz(\.asc|\.DIGESTS)?$/;
const KEY = /^([0-9A-F]{40})\.asc$/;
const DATED = /^gentoo-(\d{8})\.tar\.xz(\.gpgsig|\.md5sum)?$/;

/** Gentoo's binary package host: releases/amd64/binpackages/<release>/<isa>/. */
export const BINPACKAGES = "releases/amd64/binpackages";
const RELEASE = /^\d+\.\d+$/;
const ISA = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/; // x86-64, x86-64-v3
// PMS 3.1.1/3.1.2 names, and binpkg-multi-instance's <pf>-<build_id>.gpkg.tar
// (PMS 3.2 version, optional -r<n>). Only gpkg: the legacy .xpak/.tbz2
// format carries no signature for the target's Portage to check.
const CATEGORY = /^[A-Za-z0-9][A-Za-z0-9+_.-]*$/;
const PN = /^[A-Za-z0-9][A-Za-z0-9+_-]*$/;
const GPKG_TAIL = /^-\d+(?:\.\d+)*[a-z]?(?:_(?:alpha|beta|pre|rc|p)\d*)*(?:-r\d+)?-\d+\.gpkg\.tar$/;

/** The binhost folder of one release and ISA, relative to the mirror root. */
export function binhostDir(release: string, isa: string): string {
  return `${BINPACKAGES}/${release}/${isa}`;
}

/** Splits and decodes a URL path ("/releases/amd64/..."), refusing anything that could leave the root. */
export function decodePathSegments(urlPath: string): string[] | string {
  if (!urlPath.startsWith("/")) return "path must start with /";
  if (urlPath.includes("\\")) return "backslash in path";
  const raw = urlPath.slice(1).split("/");
  const out: string[] = [];
  for (const r of raw) {
    let s: string;
    try {
      s = decodeURIComponent(r);
    } catch {
      return `undecodable segment ${JSON.stringify(r)}`;
    }
    if (s === "") return "empty path segment";
    if (s === "." || s === "..") return "dot segment";
    if (s.includes("/") || s.includes("\\") || s.includes("\0")) return "encoded separator or NUL";
    if (!SEGMENT.test(s))
      return `segment ${JSON.stringify(s)} has characters a mirror path never has`;
    out.push(s);
  }
  return out;
}

/** Maps a request path under the mirror root to the one thing it may name. */
export function classifyMirrorPath(urlPath: string): Classified {
  const segs = decodePathSegments(urlPath);
  if (typeof segs === "string") return { ok: false, status: 400, reason: segs };
  const rel = segs.join("/");
  const notFound = {
    ok: false as const,
    status: 404 as const,
    reason: `${rel}: not a mirror path`,
  };
  if (segs.length === 2 && segs[0] === "keys") {
    const m = KEY.exec(segs[1] as string);
    return m ? { ok: true, target: { kind: "key", rel, fingerprint: m[1] as string } } : notFound;
  }
  if (rel === SNAPSHOT || rel === `${SNAPSHOT}.gpgsig`) {
    return { ok: true, target: { kind: "snapshot", rel, ext: rel === SNAPSHOT ? "" : ".gpgsig" } };
  }
  if (segs[0] === "distfiles") {
    if (segs.length === 2 && segs[1] === "layout.conf")
      return { ok: true, target: { kind: "distlayout", rel } };
    if (segs.length === 3 && /^[0-9a-f]{2}$/.test(segs[1] as string))
      return {
        ok: true,
        target: { kind: "distfile", rel, bucket: segs[1] as string, name: segs[2] as string },
      };
    return notFound;
  }
  if (segs.length === 2 && segs[0] === "snapshots") {
    const m = DATED.exec(segs[1] as string);
    if (!m) return notFound;
    const ext = (m[2] ?? "") as "" | ".gpgsig" | ".md5sum";
    const tarballRel = rel.slice(0, rel.length - ext.length);
    return { ok: true, target: { kind: "dated", rel, date: m[1] as string, ext, tarballRel } };
  }
  if (rel.startsWith(`${BINPACKAGES}/`)) return classifyBinhost(segs, rel) ?? notFound;
  const base = AUTOBUILDS.split("/");
  if (!base.every((b, i) => segs[i] === b)) return notFound;
  const rest = segs.slice(base.length);
  if (rest.length === 1) {
    const m = POINTER.exec(rest[0] as string);
    return m ? { ok: true, target: { kind: "pointer", rel, variant: m[1] as string } } : notFound;
  }
  if (rest.length === 2 && STAMP.test(rest[0] as string)) {
    const m = STAGE.exec(rest[1] as string);
    if (!m || m[2] !== rest[0]) return notFound;
    const ext = (m[3] ?? "") as "" | ".asc" | ".DIGESTS";
    return {
      ok: true,
      target: {
        kind: "stage3",
        rel,
        variant: m[1] as string,
        stamp: m[2] as string,
        ext,
        tarballRel: rel.slice(0, rel.length - ext.length),
      },
    };
  }
  return notFound;
}

/**
 * The unit a target belongs to: files fetched, verified, kept and evicted
 * together. Its key is the unit's main file.
 */
export function unitOf(target: MirrorTarget): { key: string; files: string[] } {
  switch (target.kind) {
    case "stage3": {
      const t = target.tarballRel;
      return { key: t, files: [t, `${t}.asc`, `${t}.DIGESTS`] };
    }
    case "snapshot":
      return { key: SNAPSHOT, files: [SNAPSHOT, SNAPSHOT_SIG] };
    case "dated": {
      const t = target.tarballRel;
      return { key: t, files: [t, `${t}.gpgsig`, `${t}.md5sum`] };
    }
    default:
      return { key: target.rel, files: [target.rel] };
  }
}

/** releases/amd64/binpackages/<release>/<isa>/{Packages,<category>/<pn>/<pf>-<build>.gpkg.tar}. */
function classifyBinhost(
  segs: string[],
  rel: string,
): { ok: true; target: MirrorTarget } | undefined {
  const [release = "", isa = "", ...rest] = segs.slice(BINPACKAGES.split("/").length);
  if (!RELEASE.test(release) || !ISA.test(isa)) return undefined;
  if (rest.length === 1 && rest[0] === "Packages")
    return { ok: true, target: { kind: "binindex", rel, release, isa } };
  if (rest.length !== 3) return undefined;
  const [category, pn, file] = rest as [string, string, string];
  if (!CATEGORY.test(category) || !PN.test(pn) || !file.startsWith(pn)) return undefined;
  if (!GPKG_TAIL.test(file.slice(pn.length))) return undefined;
  return { ok: true, target: { kind: "binpkg", rel, release, isa, path: rest.join("/") } };
}

/** Whether `child` is `root` or below it (both already absolute and normalised). */
export function isInside(root: string, child: string): boolean {
  const r = relative(root, child);
  return r === "" || (!r.startsWith(`..${sep}`) && r !== ".." && !isAbsolute(r));
}

/**
 * Resolves `rel` under `root` following symlinks, and returns the real path
 * only when it is a regular file still inside root's real path; undefined
 * when it does not exist. Throws when a symlink points outside.
 */
export async function safeResolve(root: string, rel: string): Promise<string | undefined> {
  const realRoot = await realpath(root);
  const joined = resolve(realRoot, rel);
  if (!isInside(realRoot, joined)) throw new Error(`${rel}: escapes ${root}`);
  let real: string;
  try {
    real = await realpath(joined);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (!isInside(realRoot, real))
    throw new Error(`${rel}: symlink leads outside ${root} (to ${real})`);
  const st = await stat(real);
  if (!st.isFile()) throw new Error(`${rel}: not a regular file`);
  return real;
}
