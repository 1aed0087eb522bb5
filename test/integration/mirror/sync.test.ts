// `automagic mirror sync` as a user runs it, against the fixture mirror.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { execa } from "execa";
import { AUTOBUILDS } from "../../../shared/verify/layout.ts";
import { cleanup, ensureFixture, listFiles, REPO, tempDir, type Fixture } from "./helpers.ts";

let fx: Fixture;
let work: string;
before(async () => {
  fx = await ensureFixture();
  work = await tempDir("sync");
});
after(() => cleanup(work));

test("mirror sync --fixture fills the cache with verified pointer, stage3 + .asc + .DIGESTS and snapshot", async () => {
  const cache = join(work, "cache");
  const r = await execa(
    join(REPO, "bin/automagic"),
    ["mirror", "sync", "--fixture", fx.dir, "--variant", "openrc", "--cache-dir", cache],
    { reject: false },
  );
  assert.equal(r.exitCode, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /1\/1 verified|2\/2 verified/);
  const files = await listFiles(cache);
  for (const f of [
    `${AUTOBUILDS}/latest-stage3-amd64-openrc.txt`,
    fx.openrcRel,
    `${fx.openrcRel}.asc`,
    `${fx.openrcRel}.DIGESTS`,
    "snapshots/gentoo-latest.tar.xz",
    "snapshots/gentoo-latest.tar.xz.gpgsig",
  ]) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(", ")}`);
  }
});

test("mirror sync with a fingerprint that did not sign anything fails and caches nothing", async () => {
  const cache = join(work, "cache-wrong");
  const r = await execa(
    join(REPO, "bin/automagic"),
    [
      "mirror",
      "sync",
      "--upstream",
      fx.dir,
      "--keys-dir",
      join(fx.dir, "keys"),
      "--trusted",
      "13EBBDBEDE7A12775DFDB1BABB572E0E2D182910",
      "--variant",
      "openrc",
      "--cache-dir",
      cache,
    ],
    { reject: false },
  );
  assert.equal(r.exitCode, 1);
  assert.match(r.stdout, /FAILED/);
  assert.deepEqual(
    (await listFiles(cache)).filter((f) => !f.startsWith(".staging/")),
    [],
  );
});
