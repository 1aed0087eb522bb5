// Thin I/O: learn how big the downloads are before planning, so the staging
// choice is made from real sizes instead of a guess. The stage3 size comes
// from the clearsigned `latest-stage3-amd64-<variant>.txt`, verified against
// the pinned keys exactly as fetch-verify does later (an unverified size could
// steer staging onto /home); the snapshot size from a HEAD's Content-Length.
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { InstallSpec } from "../spec/schema.ts";
import {
  SNAPSHOT,
  downloadFile,
  fetchMirrorKeys,
  mirrorUrl,
  parseLatestPointer,
  pointerPath,
  withKeyring,
} from "../../shared/verify/index.ts";
import type { DownloadSizes } from "./types.ts";

export interface DownloadProbeOptions {
  /** Scratch directory on the RAM system; a subdirectory is created and removed. */
  scratch: string;
  fetch?: typeof fetch;
}

export async function probeDownloads(
  spec: InstallSpec,
  o: DownloadProbeOptions,
): Promise<DownloadSizes> {
  const { mirror, variant, trustedKeys } = spec.stage3;
  const dir = path.join(o.scratch, `probe-downloads-${process.pid}`);
  await mkdir(dir, { recursive: true });
  try {
    const keys = await fetchMirrorKeys(mirror, trustedKeys, path.join(dir, "keys"));
    const pointer = await withKeyring(keys, trustedKeys, async (k) => {
      const file = path.join(dir, `latest-stage3-amd64-${variant}.txt`);
      await downloadFile(mirrorUrl(mirror, pointerPath(variant)), file, {
        retries: 2,
        maxBytes: 1 << 16,
      });
      const v = await k.verifyClearsigned(file);
      return parseLatestPointer(v.text, variant, file);
    });
    const snapshotBytes = await contentLength(mirrorUrl(mirror, SNAPSHOT), o.fetch ?? fetch);
    return { stage3Bytes: pointer.size, stage3Path: pointer.path, snapshotBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function contentLength(url: string, f: typeof fetch): Promise<number> {
  const res = await f(url, { method: "HEAD" });
  if (!res.ok) throw new Error(`HEAD ${url}: HTTP ${res.status}`);
  const raw = res.headers.get("content-length");
  const n = Number(raw);
  if (raw === null || !Number.isSafeInteger(n) || n <= 0)
    throw new Error(`HEAD ${url}: no usable Content-Length (${String(raw)})`);
  return n;
}
