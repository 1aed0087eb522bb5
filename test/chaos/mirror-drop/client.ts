// The payload's own fetch-and-verify (shared/verify) run standalone, as the
// target runs it in fetch-verify: pointer, keys, tarball, .asc, .DIGESTS.
// Prints "P <percent> <bytes>" as the tarball arrives and one final
// "R <json>" line ({ ok, sha512, bytes, ms } or { ok: false, error, ms }).
//   node --import tsx client.ts <mirror url> <variant> <fingerprint> <dest dir>
import { fetchStage3 } from "../../../shared/verify/index.ts";

const [mirror = "", variant = "", fpr = "", destDir = ""] = process.argv.slice(2);
const t0 = performance.now();
let last = -1;
try {
  const v = await fetchStage3(variant, {
    mirror,
    trustedKeys: [fpr],
    destDir,
    onProgress: (file, done, total) => {
      if (!file.endsWith(".tar.xz") || !total) return;
      const pct = Math.floor((done * 100) / total);
      if (pct !== last) console.log(`P ${(last = pct)} ${done}`);
    },
  });
  const ms = Math.round(performance.now() - t0);
  console.log(`R ${JSON.stringify({ ok: true, sha512: v.sha512, bytes: v.bytes, ms })}`);
} catch (err) {
  const ms = Math.round(performance.now() - t0);
  console.log(`R ${JSON.stringify({ ok: false, error: (err as Error).message, ms })}`);
  process.exitCode = 1;
}
