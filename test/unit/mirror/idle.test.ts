import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MirrorCache } from "../../../server/mirror/cache.ts";
import { parseMirrorConfig } from "../../../server/mirror/config.ts";
import type { Upstream } from "../../../server/mirror/upstream.ts";
import { waitFor } from "../../lib/wait.ts";

test("mirror cache: idle() waits for every fetch in flight, then settles even when it failed", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "am-mirror-idle-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const fetched: string[] = [];
  // A fake upstream that holds the download until the test releases it, then fails it.
  const upstream: Upstream = {
    describe: "fake",
    async fetch(rel) {
      fetched.push(rel);
      await gate;
      throw new Error(`fake upstream: ${rel} gone`);
    },
  };
  const cache = new MirrorCache(
    parseMirrorConfig({
      upstream: "unused",
      cacheDir: join(dir, "cache"),
      keysDir: join(dir, "keys"),
      trustedKeys: ["13EBBDBEDE7A12775DFDB1BABB572E0E2D182910"],
    }),
    { upstream },
  );
  const snapshot = cache.ensureSnapshot().catch((err: Error) => err);
  await waitFor("a download to start", () => fetched.length > 0);
  assert.equal(fetched.length, 1, `one download started: ${fetched.join(", ")}`);
  let idle = false;
  const waiting = cache.idle().then(() => (idle = true));
  // A negative over time: nothing to poll for, the wait is what is tested.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(idle, false, "still fetching: not idle");
  release();
  await waiting;
  assert.equal(idle, true);
  assert.match(String(await snapshot), /fake upstream: .* gone/);
  await cache.idle(); // nothing in flight: returns at once
});
