// server/mirror — the verifying, caching Gentoo mirror endpoint.
//   createMirrorRouter(cfg, { log?, gate? }) -> express.Router   mount at /mirror
//     cfg: { upstream: URL | directory, binhostUpstream?, cacheDir, trustedKeys: [FPR], keysDir, refreshSeconds?, maxCacheGiB? }
//     gate: { demand(): what the host files use, authorize(run token) } — without
//     a token only that is fetched (gate.ts); the cache stays under maxCacheGiB
//     (budget.ts decides, cache-ledger.ts evicts); stale .staging goes at start (staging.ts).
//     GET/HEAD keys/<FPR>.asc, releases/amd64/autobuilds/latest-stage3-amd64-<v>.txt,
//     .../<stamp>/stage3-amd64-<v>-<stamp>.tar.xz{,.asc,.DIGESTS},
//     snapshots/gentoo-latest.tar.xz{,.gpgsig},
//     releases/amd64/binpackages/<release>/<isa>/{Packages,<cat>/<pn>/<pf>-<build>.gpkg.tar}
//     (binhostUpstream?, default upstream); everything else 400/404.
//   MirrorCache: resolve(target), ensurePointer(v), ensureStage3(rel), ensureSnapshot()
//   syncMirror(cache, variants): what `automagic mirror sync` runs.
export { createMirrorRouter, classifyError } from "./router.ts";
export type { MirrorRouterOptions } from "./router.ts";
export { MirrorCache } from "./cache.ts";
export type { MirrorCacheOptions, MirrorStats } from "./cache.ts";
export { CacheFull } from "./cache-ledger.ts";
export { demandFromHosts, demandOf, unusedReason, bearerToken } from "./gate.ts";
export type { MirrorGate, MirrorDemand } from "./gate.ts";
export { parseMirrorConfig, mirrorConfigSchema } from "./config.ts";
export type { MirrorConfig, MirrorConfigInput } from "./config.ts";
export {
  classifyMirrorPath,
  decodePathSegments,
  safeResolve,
  isInside,
  BINPACKAGES,
  binhostDir,
} from "./paths.ts";
export { Binhost, NotInIndex, binpkgMismatch } from "./binhost.ts";
export { parsePackagesIndex } from "./packages-index.ts";
export type { PackagesIndex, BinpkgEntry } from "./packages-index.ts";
export type { MirrorTarget, Classified } from "./paths.ts";
export { syncMirror } from "./sync.ts";
export type { SyncResult } from "./sync.ts";
export { createUpstream, UpstreamMissing } from "./upstream.ts";
export type { Upstream } from "./upstream.ts";
