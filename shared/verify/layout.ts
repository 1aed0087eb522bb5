// Where things live on a Gentoo mirror (and on our /mirror/ endpoint, which
// has the same shape). One place, shared by the payload and the server.

export const AUTOBUILDS = "releases/amd64/autobuilds";
export const SNAPSHOT = "snapshots/gentoo-latest.tar.xz";
export const SNAPSHOT_SIG = `${SNAPSHOT}.gpgsig`;

/** A dated snapshot as emerge-webrsync asks for it: snapshots/gentoo-YYYYMMDD.tar.xz (+ .gpgsig, .md5sum). */
export function datedSnapshot(date: string): string {
  return `snapshots/gentoo-${date}.tar.xz`;
}

/** Gentoo's snapshot signing key (primary), which differs from the release key. */
export { GENTOO_SNAPSHOT_KEY } from "../../payload/spec/schema.ts";

export function pointerPath(variant: string): string {
  return `${AUTOBUILDS}/latest-stage3-amd64-${variant}.txt`;
}

/** Public key file the server publishes for a pinned fingerprint. */
export function keyPath(fingerprint: string): string {
  return `keys/${fingerprint}.asc`;
}

/** `new URL(rel, base)` that keeps the base's last path segment (".../mirror" + "x" = ".../mirror/x"). */
export function mirrorUrl(base: string, rel: string): string {
  const b = base.endsWith("/") ? base : `${base}/`;
  return new URL(rel, b).toString();
}
