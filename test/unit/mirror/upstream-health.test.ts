// Mirror upstream reachability for /healthz and the cache's hit/miss and
// download counters for /metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MirrorCache } from "../../../server/mirror/cache.ts";
import { parseMirrorConfig } from "../../../server/mirror/config.ts";
import { classifyMirrorPath, type MirrorTarget } from "../../../server/mirror/paths.ts";
import { UpstreamHealth } from "../../../server/mirror/upstream-health.ts";
import { UpstreamMissing, type Upstream } from "../../../server/mirror/upstream.ts";

test("upstream health: downloads tell; a probe only when nothing was learned for everyMs, one at a time", async () => {
  const clock = { now: 0 };
  let probes = 0;
  let fail = false;
  const h = new UpstreamHealth({
    everyMs: 60_000,
    now: () => clock.now,
    probe: async () => {
      probes += 1;
      if (fail) throw new Error("ECONNREFUSED");
    },
  });
  assert.deepEqual(h.current(), { up: undefined, detail: "not checked yet" });
  for (let i = 0; i < 100; i++) h.current(); // a flood of askers: still the one probe
  assert.equal(probes, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(h.current().up, true);
  clock.now = 30_000;
  h.note(false, "last download failed: timeout");
  assert.deepEqual(h.current(), { up: false, detail: "last download failed: timeout (0 s ago)" });
  assert.equal(probes, 1, "a download's outcome is fresh knowledge: no probe");
  clock.now = 100_000;
  fail = true;
  h.current(); // stale: one probe
  h.current();
  assert.equal(probes, 2);
  await new Promise((r) => setImmediate(r));
  assert.match(h.current().detail, /^upstream probe failed: ECONNREFUSED/);
  assert.equal(h.current().up, false);
});

function target(path: string): MirrorTarget {
  const c = classifyMirrorPath(path);
  assert.ok(c.ok);
  return c.target;
}

test("mirror cache: requests count as hit or miss by the unit being cached; downloads by result", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "am-mirror-stats-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cacheDir = join(dir, "cache");
  await mkdir(join(cacheDir, "distfiles"), { recursive: true });
  await writeFile(join(cacheDir, "distfiles/layout.conf"), "x");
  let down = false;
  const upstream: Upstream = {
    describe: "fake",
    async fetch(rel) {
      if (down) throw new Error("connect ETIMEDOUT");
      throw new UpstreamMissing(rel, "fake");
    },
  };
  const cache = new MirrorCache(
    parseMirrorConfig({
      upstream: "unused",
      cacheDir,
      keysDir: join(dir, "keys"),
      trustedKeys: ["13EBBDBEDE7A12775DFDB1BABB572E0E2D182910"],
    }),
    { upstream },
  );
  await cache.ready();
  cache.hold(target("/distfiles/layout.conf"))(); // cached: a hit
  cache.hold(target("/snapshots/gentoo-latest.tar.xz"))();
  await assert.rejects(cache.ensureSnapshot(), UpstreamMissing);
  assert.equal(cache.upstreamHealth.current().up, true, "a 404 is an answer");
  down = true;
  await assert.rejects(cache.ensureSnapshot(), /ETIMEDOUT/);
  assert.equal(cache.upstreamHealth.current().up, false);
  const s = cache.stats();
  assert.deepEqual(
    { fetches: s.upstreamFetches, missing: s.upstreamMissing, failed: s.upstreamFailures },
    { fetches: 2, missing: 1, failed: 1 },
  );
  assert.deepEqual({ hits: s.hits, misses: s.misses }, { hits: 1, misses: 1 });
});
