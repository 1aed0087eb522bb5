// shared/verify — fetch and verify Gentoo artifacts (the payload installs from
// them, the server's mirror caches with them). The public API.
//
// High level (what the installer calls; all of it before anything is formatted):
//   fetchStage3(variant, { mirror, trustedKeys, destDir, onProgress? })
//     -> { pointer: {path, fileName, size, ts?}, tarball, sha512, bytes, signature }
//     Keys come from `<mirror>/keys/<FPR>.asc` (or opts.keyFiles). The latest
//     pointer is clearsign-verified, the tarball's .asc is verified, the
//     clearsigned .DIGESTS is verified and SHA512 (+BLAKE2B) and size compared.
//     Downloads resume with Range after a dropped connection (opts.download.retries).
//   fetchSnapshot({ mirror, trustedKeys, destDir }) -> { tarball, sha512, bytes, signature }
//     snapshots/gentoo-latest.tar.xz + .gpgsig. Real Gentoo signs snapshots with
//     GENTOO_SNAPSHOT_KEY, not the release key: pass both fingerprints there.
//   Every refusal throws: SignatureError (file, reason, gpg status), HttpError
//   (url, status) or Error naming the file and the mismatching digest.
//
// Building blocks (pure unless noted):
//   parseGpgStatus(text) / acceptSignature(status, trusted): GOODSIG + VALIDSIG
//     whose PRIMARY key fingerprint is pinned; bad/expired/revoked/no-key refuse.
//   parseLatestPointer(text, variant), parseDigests(text), expectedDigests(), digestMismatch()
//     (feed them the text gpg verified, never the raw clearsigned file)
//   openKeyring/withKeyring(keyFiles, trusted) [I/O]: temporary GNUPGHOME;
//     verifyDetached(sig, data), verifyClearsigned(file) -> { text, ... }
//   downloadFile(url, dest, opts) [I/O]: Range-resuming download, returns digests
//   DigestTap (stream), hashFile(path) [I/O]: SHA512 + BLAKE2B while streaming
//   layout: AUTOBUILDS, SNAPSHOT, pointerPath(v), keyPath(fpr), mirrorUrl(base, rel)
export { parseGpgStatus, acceptSignature, normalizeFingerprint } from "./gpg-status.ts";
export type { GpgStatus, SignatureStatus, SignatureDecision } from "./gpg-status.ts";
export { parseLatestPointer, unsafeStagePath } from "./pointer.ts";
export type { Stage3Pointer } from "./pointer.ts";
export { parseDigests, expectedDigests, digestMismatch } from "./digests.ts";
export type { DigestEntry, DigestAlgo, ExpectedDigests } from "./digests.ts";
export { openKeyring, withKeyring, SignatureError } from "./gpg.ts";
export type { Keyring, VerifiedSignature } from "./gpg.ts";
export { downloadFile, HttpError } from "./download.ts";
export type { DownloadOptions } from "./download.ts";
export { DigestTap, hashFile } from "./hash.ts";
export type { FileDigests } from "./hash.ts";
export {
  AUTOBUILDS,
  SNAPSHOT,
  SNAPSHOT_SIG,
  GENTOO_SNAPSHOT_KEY,
  pointerPath,
  keyPath,
  mirrorUrl,
} from "./layout.ts";
export { fetchStage3, fetchSnapshot, fetchMirrorKeys } from "./fetch.ts";
export type { FetchOptions, VerifiedStage3, VerifiedSnapshot } from "./fetch.ts";
