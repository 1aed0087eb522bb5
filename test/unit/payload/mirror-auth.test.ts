// The payload's run token goes to its own server's mirror (so a variant no
// host file uses any more is still fetched for a run in progress), and
// never to a mirror elsewhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mirrorAuth } from "../../../payload/steps/fetch.ts";

const TOKEN = "t".repeat(32);

test("mirrorAuth: the token for our own mirror only", () => {
  assert.deepEqual(mirrorAuth("http://10.0.0.1:8080/mirror/", "http://10.0.0.1:8080", TOKEN), {
    authorization: `Bearer ${TOKEN}`,
  });
  assert.deepEqual(mirrorAuth("http://10.0.0.1:8080/mirror/", "http://10.0.0.1:8080/", TOKEN), {
    authorization: `Bearer ${TOKEN}`,
  });
  for (const mirror of [
    "https://distfiles.gentoo.org/",
    "http://10.0.0.1:80801/mirror/",
    "http://10.0.0.1:8080.evil.example/mirror/",
  ])
    assert.equal(mirrorAuth(mirror, "http://10.0.0.1:8080", TOKEN), undefined, mirror);
  assert.equal(mirrorAuth("http://10.0.0.1:8080/mirror/", undefined, TOKEN), undefined);
  assert.equal(
    mirrorAuth("http://10.0.0.1:8080/mirror/", "http://10.0.0.1:8080", undefined),
    undefined,
  );
});
