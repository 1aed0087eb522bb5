import { test } from "node:test";
import assert from "node:assert/strict";
import { NotInIndex } from "../../../server/mirror/binhost.ts";
import { parseMirrorConfig } from "../../../server/mirror/config.ts";
import { parseServeConfig } from "../../../server/app/config.ts";
import { classifyError } from "../../../server/mirror/router.ts";
import { UpstreamMissing } from "../../../server/mirror/upstream.ts";
import { SignatureError } from "../../../shared/verify/gpg.ts";
import { HttpError } from "../../../shared/verify/download.ts";

test("config: fingerprints normalised, refreshSeconds defaulted, bad input named by field", () => {
  const c = parseMirrorConfig({
    upstream: "https://distfiles.gentoo.org",
    cacheDir: "var/mirror-cache",
    keysDir: "var/mirror-keys",
    trustedKeys: ["13eb bdbe de7a 1277 5dfd b1ba bb57 2e0e 2d18 2910"],
  });
  assert.deepEqual(c.trustedKeys, ["13EBBDBEDE7A12775DFDB1BABB572E0E2D182910"]);
  assert.equal(c.refreshSeconds, 3600);
  assert.equal(c.binhostUpstream, undefined, "the binhost comes from upstream unless told");
  const b = parseMirrorConfig({ ...c, binhostUpstream: "https://binhost.example/gentoo" });
  assert.equal(b.binhostUpstream, "https://binhost.example/gentoo");
  const serve = parseServeConfig(
    { mirror: { upstream: "u", binhostUpstream: "/srv/gentoo" } },
    "s",
  );
  assert.equal(serve.mirror.binhostUpstream, "/srv/gentoo");
  assert.throws(
    () => parseServeConfig({ mirror: { upstream: "u", binhostUpstream: "" } }, "serve.yaml"),
    /serve\.yaml: mirror\.binhostUpstream/,
  );
  assert.throws(
    () =>
      parseMirrorConfig(
        { upstream: "x", cacheDir: "c", keysDir: "k", trustedKeys: ["abc"] },
        "serve.yaml",
      ),
    /serve\.yaml: trustedKeys\[0\]: a 40-hex-digit/,
  );
  assert.throws(
    () => parseMirrorConfig({ upstream: "x", cacheDir: "c", keysDir: "k", trustedKeys: [] }),
    /trustedKeys/,
  );
  assert.throws(
    () =>
      parseMirrorConfig({
        upstream: "x",
        cacheDir: "c",
        keysDir: "k",
        trustedKeys: ["A".repeat(40)],
        extra: 1,
      }),
    /extra|Unrecognized/i,
  );
});

test("errors map to HTTP answers in one place", () => {
  assert.deepEqual(classifyError(new UpstreamMissing("a/b", "/up"))[0], 404);
  assert.deepEqual(classifyError(new NotInIndex("a/b/b-1-1.gpkg.tar")), [
    404,
    "not in the binhost's Packages index",
  ]);
  assert.equal(classifyError(new Error("p: SIZE mismatch (index 3, got 2)"))[0], 502);
  assert.equal(classifyError(new SignatureError("f", "BADSIG from key X"))[0], 502);
  assert.match(
    classifyError(new SignatureError("f", "BADSIG from key X"))[1],
    /failed verification: f: signature rejected: BADSIG/,
  );
  assert.equal(classifyError(new Error("x.tar.xz: SHA512 mismatch: expected a, got b"))[0], 502);
  assert.equal(classifyError(new Error("r: symlink leads outside /up (to /etc/passwd)"))[0], 403);
  assert.equal(classifyError(new HttpError("http://m/x", 503, "Service Unavailable"))[0], 502);
});
