// Installer bench: our stream (HTTP download through the real mirror router
// + signature/digest verification + extraction with progress) against plain
// `tar -xJf` of the same local stage3 on the same disk, same run.
//   npx tsx test/bench/installer.bench.ts
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import express from "express";
import type { AddressInfo } from "node:net";
import { createMirrorRouter } from "../../server/mirror/index.ts";
import { fetchStage3 } from "../../shared/verify/index.ts";
import { extractWithProgress } from "../../payload/steps/extract.ts";
import { Reporter } from "../../payload/run/reporter.ts";
import { execaRunner } from "../../payload/run/runner.ts";
import type { RunContext } from "../../payload/run/context.ts";

const REPO = resolve(import.meta.dirname, "../..");
const FIXTURE = process.env.AUTOMAGIC_FIXTURE_MIRROR ?? join(REPO, "var/fixture-mirror");
if (!process.env.AUTOMAGIC_FIXTURE_MIRROR)
  execFileSync("npx", ["tsx", "test/fixture-mirror/build.ts"], {
    cwd: REPO,
    stdio: "inherit",
  });
const fpr = readFileSync(join(FIXTURE, "TEST-KEY-FPR"), "utf8").trim();
const auto = join(FIXTURE, "releases/amd64/autobuilds");
const stamp = readdirSync(auto).find((d) => statSync(join(auto, d)).isDirectory())!;
const stage = join(
  auto,
  stamp,
  readdirSync(join(auto, stamp)).find((f) => f.endsWith(".tar.xz"))!,
);
const tmp = mkdtempSync("/var/tmp/am-pay-bench-");
const t = (fn: () => unknown) => async () => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
try {
  const app = express();
  app.use(
    "/mirror",
    createMirrorRouter({
      upstream: FIXTURE,
      cacheDir: join(tmp, "cache"),
      trustedKeys: [fpr],
      keysDir: join(FIXTURE, "keys"),
    }),
  );
  const srv = app.listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  const mirror = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/mirror/`;
  // Warm the server's verifying cache first: that is `automagic mirror sync`, not the install.
  await fetchStage3("openrc", { mirror, trustedKeys: [fpr], destDir: join(tmp, "warm") });
  const ctx = {
    reporter: new Reporter({ phase: 1, write: () => {} }),
    runner: execaRunner(),
    step: "extract-stage3",
  } as unknown as RunContext;
  const plains: number[] = [];
  const ourss: number[] = [];
  const dls: number[] = [];
  // Alternating rounds: the machine is shared and noisy, only same-run medians count.
  for (let i = 0; i < ROUNDS; i++) {
    plains.push(
      await t(() => {
        const d = join(tmp, `plain${i}`);
        execFileSync("mkdir", ["-p", d]);
        execFileSync("tar", [
          "-xJpf",
          stage,
          "--xattrs",
          "--xattrs-include=*.*",
          "--numeric-owner",
          "-C",
          d,
        ]);
        rmSync(d, { recursive: true, force: true });
      })(),
    );
    ourss.push(
      await t(async () => {
        const t0 = performance.now();
        const s = await fetchStage3("openrc", {
          mirror,
          trustedKeys: [fpr],
          destDir: join(tmp, `staging${i}`),
        });
        dls.push((performance.now() - t0) / 1000);
        const d = join(tmp, `ours${i}`);
        execFileSync("mkdir", ["-p", d]);
        await extractWithProgress(ctx, s.tarball, s.bytes, d);
        rmSync(d, { recursive: true, force: true });
        rmSync(join(tmp, `staging${i}`), { recursive: true, force: true });
      })(),
    );
  }
  srv.close();
  const plain = median(plains);
  const ours = median(ourss);
  console.log(
    `stage3 ${(statSync(stage).size / 1e6).toFixed(0)} MB, ${ROUNDS} alternating rounds, medians`,
  );
  console.log(
    `plain tar -xJf (local file):  ${plain.toFixed(2)} s  [${plains.map((x) => x.toFixed(2)).join(", ")}]`,
  );
  console.log(
    `ours download+verify+extract: ${ours.toFixed(2)} s  [${ourss.map((x) => x.toFixed(2)).join(", ")}] (download+verify median ${median(dls).toFixed(2)} s)`,
  );
  console.log(`ratio ours/plain: ${(ours / plain).toFixed(2)} (goal <= 1.2)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
