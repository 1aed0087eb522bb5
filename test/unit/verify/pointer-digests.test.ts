import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLatestPointer, unsafeStagePath } from "../../../shared/verify/pointer.ts";
import { digestMismatch, expectedDigests, parseDigests } from "../../../shared/verify/digests.ts";

// The signed body of a real Gentoo pointer (format of releng copy_buildsync.sh).
const POINTER = `# Latest as of Sun, 10 Nov 2024 17:01:46 +0000
# ts=1731258106
20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz 283688292
`;

test("pointer: path, file name, size and ts", () => {
  assert.deepEqual(parseLatestPointer(POINTER, "openrc"), {
    path: "20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz",
    fileName: "stage3-amd64-openrc-20241110T170333Z.tar.xz",
    size: 283688292,
    ts: 1731258106,
  });
});

test("pointer: multi-dash variants", () => {
  const p = parseLatestPointer(
    "20260101T000000Z/stage3-amd64-desktop-systemd-20260101T000000Z.tar.xz 9\n",
    "desktop-systemd",
  );
  assert.equal(p.size, 9);
});

test("pointer: the raw clearsigned file is refused (only gpg's verified text is trusted)", () => {
  const signed = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${POINTER}-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n`;
  assert.throws(() => parseLatestPointer(signed, "openrc"), /still clearsigned/);
});

test("pointer: refuses traversal, other variants, absolute paths, junk and two entries", () => {
  const bad = [
    ["../../../etc/passwd 5\n", /build-stamp/],
    ["/20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz 5\n", /<build-stamp>\/<file>/],
    [
      "20241110T170333Z/stage3-amd64-systemd-20241110T170333Z.tar.xz 5\n",
      /not a stage3-amd64-openrc/,
    ],
    ["20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz\n", /expected "<path> <bytes>"/],
    ["20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz 0\n", /bad size/],
    ["# nothing\n", /exactly one/],
    [POINTER + POINTER.split("\n")[2] + "\n", /exactly one/],
  ] as const;
  for (const [text, re] of bad)
    assert.throws(() => parseLatestPointer(text, "openrc", "latest.txt"), re, text);
  assert.equal(
    unsafeStagePath("20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz", "openrc"),
    undefined,
  );
  assert.ok(
    unsafeStagePath("20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz.asc", "openrc"),
  );
});

const SHA = "a".repeat(128);
const B2 = "b".repeat(128);
const SHA_C = "c".repeat(128);
// Gentoo's current .DIGESTS body (BLAKE2B block then SHA512 block).
const DIGESTS = `# BLAKE2B HASH
${B2}  stage3-amd64-openrc-20241110T170333Z.tar.xz
# SHA512 HASH
${SHA}  stage3-amd64-openrc-20241110T170333Z.tar.xz
`;

test("DIGESTS: both blocks parsed, expected digests picked by file name", () => {
  const e = parseDigests(DIGESTS);
  assert.equal(e.length, 2);
  assert.deepEqual(expectedDigests(e, "stage3-amd64-openrc-20241110T170333Z.tar.xz"), {
    sha512: SHA,
    blake2b: B2,
  });
});

test("DIGESTS: older layout with CONTENTS, ./ and * markers, and skipped algorithms", () => {
  const old = `# SHA1 HASH\n${"d".repeat(40)}  x.tar.xz\n# SHA512 HASH\n${SHA_C}  *./x.tar.xz.CONTENTS.gz\n${SHA}  ./x.tar.xz\n# WHIRLPOOL HASH\n${"e".repeat(128)}  x.tar.xz\n`;
  assert.deepEqual(expectedDigests(parseDigests(old), "x.tar.xz"), { sha512: SHA });
  assert.deepEqual(expectedDigests(parseDigests(old), "x.tar.xz.CONTENTS.gz"), { sha512: SHA_C });
});

test("DIGESTS: refusals", () => {
  assert.throws(
    () => expectedDigests(parseDigests(`# BLAKE2B HASH\n${B2}  x\n`), "x"),
    /no SHA512 digest for x/,
  );
  assert.throws(
    () => expectedDigests(parseDigests(`# SHA512 HASH\n${SHA}  x\n${SHA_C}  x\n`), "x"),
    /two different SHA512/,
  );
  assert.throws(() => parseDigests(`${SHA}  x\n`), /before any/);
  assert.throws(() => parseDigests(`# SHA512 HASH\nabc  x\n`), /not 128 hex/);
  assert.throws(
    () => parseDigests(`-----BEGIN PGP SIGNED MESSAGE-----\n${DIGESTS}`),
    /still clearsigned/,
  );
});

test("digestMismatch names the file and the algorithm", () => {
  assert.equal(
    digestMismatch({ sha512: SHA, blake2b: B2 }, { sha512: SHA, blake2b: B2 }, "x"),
    undefined,
  );
  assert.match(
    digestMismatch({ sha512: SHA }, { sha512: SHA_C, blake2b: B2 }, "x") ?? "",
    /^x: SHA512 mismatch/,
  );
  assert.match(
    digestMismatch({ sha512: SHA, blake2b: B2 }, { sha512: SHA, blake2b: SHA_C }, "x") ?? "",
    /^x: BLAKE2B mismatch/,
  );
});
