// Status lines captured from real gpg 2.2 by test/fixtures/gpg/capture.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  acceptSignature,
  normalizeFingerprint,
  parseGpgStatus,
} from "../../../shared/verify/gpg-status.ts";

const dir = join(import.meta.dirname, "../../fixtures/gpg");
const status = (name: string) => parseGpgStatus(readFileSync(join(dir, `${name}.status`), "utf8"));
const fpr = (name: string) => readFileSync(join(dir, `${name}.fpr`), "utf8").trim();
const SIGNER = fpr("signer");
const OTHER = fpr("other");

test("good detached signature: GOODSIG + VALIDSIG naming the pinned primary key is accepted", () => {
  const s = status("good");
  assert.equal(s.signatures.length, 1);
  const sig = s.signatures[0]!;
  assert.equal(sig.good, true);
  assert.equal(sig.primaryFingerprint, SIGNER);
  assert.notEqual(sig.signingFingerprint, SIGNER, "signed by the subkey, not the primary");
  const d = acceptSignature(s, [SIGNER]);
  assert.deepEqual(d.ok && d.primaryFingerprint, SIGNER);
});

test("pinning the signing SUBKEY instead of the primary key is not enough", () => {
  const sub = status("good").signatures[0]!.signingFingerprint!;
  const d = acceptSignature(status("good"), [sub]);
  assert.equal(d.ok, false);
  assert.match(!d.ok ? d.reason : "", /primary key .* is not pinned/);
});

test("clearsigned file verifies the same way", () => {
  assert.equal(acceptSignature(status("clearsigned-good"), [SIGNER]).ok, true);
});

test("bad signature (data altered) is refused as BADSIG", () => {
  const d = acceptSignature(status("bad"), [SIGNER]);
  assert.equal(d.ok, false);
  assert.match(!d.ok ? d.reason : "", /^BADSIG from key [0-9A-F]{16}/);
});

test("good signature from a key that is in the keyring but not pinned is refused", () => {
  const s = status("wrong-key");
  assert.equal(s.signatures[0]!.good, true, "gpg itself calls it good (exit code 0)");
  const d = acceptSignature(s, [SIGNER]);
  assert.equal(d.ok, false);
  assert.match(!d.ok ? d.reason : "", new RegExp(`VALIDSIG primary key ${OTHER} is not pinned`));
  assert.equal(acceptSignature(s, [OTHER]).ok, true);
});

test("signature by an expired key is refused as EXPKEYSIG even though VALIDSIG is present", () => {
  const s = status("expired-key");
  assert.equal(s.signatures[0]!.expiredKey, true);
  assert.ok(s.signatures[0]!.primaryFingerprint);
  const d = acceptSignature(s, [fpr("old")]);
  assert.equal(d.ok, false);
  assert.match(!d.ok ? d.reason : "", /^EXPKEYSIG/);
});

test("expired signature is refused as EXPSIG", () => {
  const d = acceptSignature(status("expired-sig"), [s0(status("expired-sig"))]);
  assert.equal(d.ok, false);
  assert.match(!d.ok ? d.reason : "", /^EXPSIG/);
});
const s0 = (s: ReturnType<typeof parseGpgStatus>) => s.signatures[0]!.primaryFingerprint!;

test("missing public key is refused as ERRSIG with NO_PUBKEY", () => {
  const s = status("no-key");
  assert.deepEqual(s.noPubkey, ["BE613B309577C168"]);
  const d = acceptSignature(s, [SIGNER]);
  assert.equal(d.ok, false);
  assert.match(!d.ok ? d.reason : "", /^ERRSIG .*public key not available/);
});

test("no status output at all (gpg crashed, exit code 0 faked) is refused", () => {
  assert.equal(acceptSignature(parseGpgStatus(""), [SIGNER]).ok, false);
  assert.equal(acceptSignature(parseGpgStatus("[GNUPG:] NODATA 1\n"), [SIGNER]).ok, false);
});

test("GOODSIG without VALIDSIG is refused", () => {
  const text = "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG BE613B309577C168 Someone\n";
  const d = acceptSignature(parseGpgStatus(text), [SIGNER]);
  assert.equal(d.ok, false);
  assert.match(!d.ok ? d.reason : "", /without a VALIDSIG/);
});

test("a GOODSIG and VALIDSIG that describe different keys are refused", () => {
  const good = readFileSync(join(dir, "good.status"), "utf8").replace(
    "GOODSIG BE613B309577C168",
    "GOODSIG 0123456789ABCDEF",
  );
  assert.equal(acceptSignature(parseGpgStatus(good), [SIGNER]).ok, false);
});

test("one bad signature among good ones refuses the file", () => {
  const text =
    readFileSync(join(dir, "good.status"), "utf8") + readFileSync(join(dir, "bad.status"), "utf8");
  const s = parseGpgStatus(text);
  assert.equal(s.signatures.length, 2);
  assert.equal(acceptSignature(s, [SIGNER]).ok, false);
});

test("an empty pin list never accepts", () => {
  assert.equal(acceptSignature(status("good"), []).ok, false);
});

test("fingerprints are normalised from the spaced form Gentoo prints", () => {
  assert.equal(
    normalizeFingerprint("13EB BDBE DE7A 1277 5DFD  B1BA BB57 2E0E 2D18 2910"),
    "13EBBDBEDE7A12775DFDB1BABB572E0E2D182910",
  );
  assert.throws(() => normalizeFingerprint("13EB"), /not 40 hex digits/);
});
