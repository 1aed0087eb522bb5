// Fetch-and-verify: shared/verify's fetchStage3 through the mirror server
// vs the Handbook's shell procedure on the same files from the same server
// in the same run (curl the pointer, tarball, .asc, .DIGESTS; gpg --verify
// x3; sha512sum + b2sum). Also the server's cold-cache fill (copy from the
// fixture + verify) per stage3. Median of BENCH_RUNS (default 3).
// Both clients run in their own process (as the payload does on another
// machine): fetchStage3 in a child `tsx` process timed from inside it, so the
// in-process server never shares an event loop with the client.
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchStage3 } from "../../shared/verify/index.ts";
import { AUTOBUILDS } from "../../shared/verify/layout.ts";
import { MirrorCache } from "../../server/mirror/cache.ts";
import { parseMirrorConfig } from "../../server/mirror/config.ts";
import { ensureFixture, startMirror } from "../integration/mirror/helpers.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

if (process.argv[2] === "--client") {
  // child: one timed fetchStage3, result as JSON on stdout
  const [, , , url, fpr, dest] = process.argv;
  const secs = await time(() =>
    fetchStage3("openrc", {
      mirror: url as string,
      trustedKeys: [fpr as string],
      destDir: dest as string,
    }),
  );
  process.stdout.write(`${JSON.stringify({ secs })}\n`);
  process.exit(0);
}

const fx = await ensureFixture();
const work = await mkdtemp(join(tmpdir(), "automagic-bench-mirror-"));
try {
  const cfg = parseMirrorConfig({
    upstream: fx.dir,
    cacheDir: join(work, "cache"),
    keysDir: join(fx.dir, "keys"),
    trustedKeys: [fx.fingerprint],
  });
  const cold: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await rm(cfg.cacheDir, { recursive: true, force: true });
    const cache = new MirrorCache(cfg);
    cold.push(await time(() => cache.ensureStage3(fx.openrcRel)));
  }
  const mirror = await startMirror(cfg);
  const size = Number((await execa("stat", ["-c", "%s", join(fx.dir, fx.openrcRel)])).stdout);
  const ours: number[] = [];
  const shell: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const d1 = join(work, `ours-${i}`);
    ours.push(
      await time(() =>
        fetchStage3("openrc", { mirror: mirror.url, trustedKeys: [fx.fingerprint], destDir: d1 }),
      ),
    );
    await rm(d1, { recursive: true, force: true });
    const d2 = join(work, `shell-${i}`);
    const script = `set -euo pipefail; mkdir -p "$D/gnupg"; chmod 700 "$D/gnupg"; cd "$D"
      export GNUPGHOME="$D/gnupg"
      curl -fsS -o key.asc "$M/keys/$FPR.asc"; gpg -q --batch --import key.asc
      curl -fsS -o latest.txt "$M/${AUTOBUILDS}/latest-stage3-amd64-openrc.txt"
      gpg -q --batch --output latest.plain --decrypt latest.txt 2>/dev/null
      p=$(awk '/\\.tar\\.xz /{print $1}' latest.plain); f=$(basename "$p")
      curl -fsS -O "$M/${AUTOBUILDS}/$p" -O "$M/${AUTOBUILDS}/$p.asc" -O "$M/${AUTOBUILDS}/$p.DIGESTS"
      gpg -q --batch --verify "$f.asc" "$f" 2>/dev/null
      gpg -q --batch --output digests.plain --decrypt "$f.DIGESTS" 2>/dev/null
      grep -A1 '^# SHA512' digests.plain | tail -1 | sha512sum -c --quiet
      grep -A1 '^# BLAKE2B' digests.plain | tail -1 | b2sum -c --quiet`;
    shell.push(
      await time(() =>
        execa("bash", ["-c", script], {
          env: { D: d2, M: mirror.url.replace(/\/$/, ""), FPR: fx.fingerprint },
        }),
      ),
    );
    await execa("gpgconf", ["--homedir", join(d2, "gnupg"), "--kill", "all"], { reject: false });
    await rm(d2, { recursive: true, force: true });
  }
  await mirror.close();
  const mib = size / 2 ** 20;
  const o = median(ours);
  const s = median(shell);
  console.log(
    `stage3: ${mib.toFixed(1)} MiB (${fx.openrcRel.split("/").pop()}), ${RUNS} runs, medians`,
  );
  console.log(
    `server cold fill (copy from fixture + gpg + SHA512/BLAKE2B): ${median(cold).toFixed(2)} s`,
  );
  console.log(
    `fetchStage3 via /mirror (download + verify, digests while streaming): ${o.toFixed(2)} s  ${(mib / o).toFixed(0)} MiB/s`,
  );
  console.log(
    `shell peer (curl + gpg --verify x3 + sha512sum + b2sum):               ${s.toFixed(2)} s  ${(mib / s).toFixed(0)} MiB/s`,
  );
  console.log(`ratio ours/peer: ${(o / s).toFixed(2)}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
