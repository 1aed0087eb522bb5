// `automagic mirror sync`: warms the cache with what an install needs.
import { AUTOBUILDS } from "../../shared/verify/layout.ts";
import type { MirrorCache } from "./cache.ts";

export interface SyncResult {
  variant?: string;
  rel: string;
  ok: boolean;
  error?: string;
}

/** Fetches and verifies the latest pointer + stage3 for each variant, then the snapshot. Never throws. */
export async function syncMirror(
  cache: MirrorCache,
  variants: readonly string[],
  withSnapshot = true,
): Promise<SyncResult[]> {
  const out: SyncResult[] = [];
  for (const variant of variants) {
    try {
      const p = await cache.ensurePointer(variant, true);
      const rel = `${AUTOBUILDS}/${p.path}`;
      await cache.ensureStage3(rel);
      out.push({ variant, rel, ok: true });
    } catch (err) {
      out.push({
        variant,
        rel: `latest-stage3-amd64-${variant}`,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  if (withSnapshot) {
    try {
      await cache.ensureSnapshot(true);
      out.push({ rel: "snapshots/gentoo-latest.tar.xz", ok: true });
    } catch (err) {
      out.push({
        rel: "snapshots/gentoo-latest.tar.xz",
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return out;
}
