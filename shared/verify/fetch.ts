// Fetch-and-verify of a stage3 and of the repository snapshot through a
// Gentoo-shaped mirror (our server's /mirror/). Order, after Gentoo's own
// container build: verify the clearsigned pointer, download tarball + .asc
// + .DIGESTS, verify the detached signature, verify the clearsigned DIGESTS
// and compare SHA512/BLAKE2B (computed during the download) and the size.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { downloadFile, HttpError, type DownloadOptions } from "./download.ts";
import type { FileDigests } from "./hash.ts";
import { expectedDigests, digestMismatch, parseDigests } from "./digests.ts";
import { withKeyring, type Keyring, type VerifiedSignature } from "./gpg.ts";
import { normalizeFingerprint } from "./gpg-status.ts";
import { AUTOBUILDS, SNAPSHOT, SNAPSHOT_SIG, keyPath, mirrorUrl, pointerPath } from "./layout.ts";
import { parseLatestPointer, type Stage3Pointer } from "./pointer.ts";
import { ByteTee } from "./tee.ts";

export interface FetchOptions {
  /** Base URL of the mirror, e.g. the spec's stage3.mirror ("http://srv/mirror/"). */
  mirror: string;
  /** Pinned primary-key fingerprints (spec stage3.trustedKeys). */
  trustedKeys: readonly string[];
  /** Where files land: a tmpfs directory or a staging dir on /home. Created if missing. */
  destDir: string;
  /** Public key files to import; default: fetch `<mirror>/keys/<FPR>.asc` for each trusted key. */
  keyFiles?: readonly string[];
  onProgress?: (file: string, done: number, total: number | undefined) => void;
  download?: Omit<DownloadOptions, "expectedSize" | "onProgress">;
}

export interface VerifiedStage3 {
  pointer: Stage3Pointer;
  /** Local path of the verified tarball. */
  tarball: string;
  sha512: string;
  bytes: number;
  signature: VerifiedSignature;
}

export interface VerifiedSnapshot {
  tarball: string;
  sha512: string;
  bytes: number;
  signature: VerifiedSignature;
}

/** Downloads the public keys the mirror publishes for `trustedKeys`; 404s are skipped, none at all is an error. */
export async function fetchMirrorKeys(
  mirror: string,
  trustedKeys: readonly string[],
  destDir: string,
): Promise<string[]> {
  await mkdir(destDir, { recursive: true });
  const files: string[] = [];
  for (const fpr of trustedKeys.map(normalizeFingerprint)) {
    const dest = join(destDir, `${fpr}.asc`);
    try {
      await downloadFile(mirrorUrl(mirror, keyPath(fpr)), dest, { retries: 2, maxBytes: 1 << 20 });
      files.push(dest);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
    }
  }
  if (files.length === 0) {
    throw new Error(
      `${mirrorUrl(mirror, "keys/")}: none of the trusted keys is published (${trustedKeys.join(", ")})`,
    );
  }
  return files;
}

async function keysFor(opts: FetchOptions): Promise<readonly string[]> {
  return (
    opts.keyFiles ?? fetchMirrorKeys(opts.mirror, opts.trustedKeys, join(opts.destDir, "keys"))
  );
}

/** Resolves, downloads and verifies the latest stage3 of `variant`. Throws (SignatureError, HttpError, Error) on any doubt. */
export async function fetchStage3(variant: string, opts: FetchOptions): Promise<VerifiedStage3> {
  await mkdir(opts.destDir, { recursive: true });
  const keys = await keysFor(opts);
  return withKeyring(keys, opts.trustedKeys, async (k) => {
    const pointer = await fetchPointer(k, variant, opts);
    const base = `${AUTOBUILDS}/${pointer.path}`;
    const tarball = join(opts.destDir, pointer.fileName);
    const dl = (rel: string, dest: string, expectedSize?: number, tee?: ByteTee) =>
      downloadFile(mirrorUrl(opts.mirror, rel), dest, {
        ...opts.download,
        ...(tee ? { tee } : {}),
        ...(expectedSize !== undefined ? { expectedSize } : { maxBytes: 1 << 20 }),
        onProgress: (d, t) => opts.onProgress?.(rel, d, t),
      });
    await dl(`${base}.asc`, `${tarball}.asc`);
    await dl(`${base}.DIGESTS`, `${tarball}.DIGESTS`);
    // gpg checks the signature while the tarball streams in; if that stream was
    // not the whole file in order (resumed download), the file is checked instead.
    const live = k.startDetachedVerify(`${tarball}.asc`, tarball);
    const streamed = live.result.catch(() => undefined); // observed now: the download may still fail
    const tee = new ByteTee(live.input);
    let got: FileDigests | undefined;
    let intact = false;
    try {
      got = await dl(base, tarball, pointer.size, tee);
    } finally {
      intact = tee.end(got?.bytes ?? -1); // also closes gpg's input when the download failed
    }
    const overlapped = intact ? await streamed : undefined;
    const signature = overlapped ?? (await k.verifyDetached(`${tarball}.asc`, tarball));
    const digests = await k.verifyClearsigned(`${tarball}.DIGESTS`);
    const expected = expectedDigests(
      parseDigests(digests.text, `${pointer.fileName}.DIGESTS`),
      pointer.fileName,
    );
    const bad = digestMismatch(expected, got, tarball);
    if (bad) throw new Error(bad);
    return { pointer, tarball, sha512: got.sha512, bytes: got.bytes, signature };
  });
}

async function fetchPointer(
  k: Keyring,
  variant: string,
  opts: FetchOptions,
): Promise<Stage3Pointer> {
  const rel = pointerPath(variant);
  const dest = join(opts.destDir, `latest-stage3-amd64-${variant}.txt`);
  await downloadFile(mirrorUrl(opts.mirror, rel), dest, { ...opts.download, maxBytes: 1 << 16 });
  const v = await k.verifyClearsigned(dest);
  await writeFile(`${dest}.verified`, v.text);
  return parseLatestPointer(v.text, variant, dest);
}

/** Downloads and verifies snapshots/gentoo-latest.tar.xz against its .gpgsig. */
export async function fetchSnapshot(opts: FetchOptions): Promise<VerifiedSnapshot> {
  await mkdir(opts.destDir, { recursive: true });
  const keys = await keysFor(opts);
  return withKeyring(keys, opts.trustedKeys, async (k) => {
    const tarball = join(opts.destDir, "gentoo-latest.tar.xz");
    const got = await downloadFile(mirrorUrl(opts.mirror, SNAPSHOT), tarball, {
      ...opts.download,
      onProgress: (d, t) => opts.onProgress?.(SNAPSHOT, d, t),
    });
    await downloadFile(mirrorUrl(opts.mirror, SNAPSHOT_SIG), `${tarball}.gpgsig`, {
      ...opts.download,
      maxBytes: 1 << 20,
    });
    const signature = await k.verifyDetached(`${tarball}.gpgsig`, tarball);
    return { tarball, sha512: got.sha512, bytes: got.bytes, signature };
  });
}
