import { test } from "node:test";
import assert from "node:assert/strict";
import { bucketOf, parseDistLines } from "../../../server/mirror/distfiles.ts";
import { classifyMirrorPath } from "../../../server/mirror/paths.ts";

test("DIST lines: name, size, BLAKE2B and SHA512; other lines and incomplete entries ignored", () => {
  const text = [
    "DIST zsh-5.9.tar.xz 3332400 BLAKE2B AB12 SHA512 CD34",
    "EBUILD zsh-5.9.ebuild 100 BLAKE2B 00 SHA512 11",
    "DIST only-sha.tar 10 SHA512 ff",
    "DIST bad-size.tar x BLAKE2B 00 SHA512 11",
    "",
  ].join("\n");
  const m = parseDistLines(text);
  assert.deepEqual([...m.keys()], ["zsh-5.9.tar.xz"]);
  assert.deepEqual(m.get("zsh-5.9.tar.xz"), { size: 3332400, blake2b: "ab12", sha512: "cd34" });
});

test("GLEP 75 bucket: the first byte of BLAKE2B(name) in hex", () => {
  // printf 'foo-1.tar.gz' | b2sum  ->  1b...
  assert.equal(bucketOf("foo-1.tar.gz"), "1b");
});

test("distfiles paths: layout.conf and <hh>/<name>; anything else 404", () => {
  const ok = (p: string) => {
    const c = classifyMirrorPath(p);
    return c.ok ? c.target : undefined;
  };
  assert.deepEqual(ok("/distfiles/layout.conf"), {
    kind: "distlayout",
    rel: "distfiles/layout.conf",
  });
  assert.deepEqual(ok("/distfiles/3f/zsh-5.9.tar.xz"), {
    kind: "distfile",
    rel: "distfiles/3f/zsh-5.9.tar.xz",
    bucket: "3f",
    name: "zsh-5.9.tar.xz",
  });
  for (const p of [
    "/distfiles/zsh-5.9.tar.xz",
    "/distfiles/3F/x.tar",
    "/distfiles/3f/a/b",
    "/distfiles",
  ])
    assert.equal(ok(p), undefined, p);
});
