// automagic mirror sync — warms the verifying Gentoo cache (issue 6).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { GENTOO_RELEASE_KEY } from "../../../payload/spec/schema.ts";
import { GENTOO_SNAPSHOT_KEY } from "../../../shared/verify/layout.ts";
import { installPaths } from "../../app/config.ts";
import { MirrorCache, parseMirrorConfig, syncMirror } from "../../mirror/index.ts";
import { CliError, EXIT } from "../exit-codes.ts";

const collect = (v: string, prev: string[]) => [...prev, ...v.split(",").filter(Boolean)];
// Where an installed serve looks (server/app/config.ts).
const DEFAULT_CACHE = join(installPaths().state, "mirror-cache");
const DEFAULT_KEYS = join(installPaths().etc, "mirror-keys");

interface SyncOpts {
  variant: string[];
  upstream?: string;
  cacheDir: string;
  keysDir: string;
  trusted: string[];
  fixture?: string;
  snapshot: boolean;
  json?: boolean;
}

export function registerMirror(program: Command): void {
  const mirror = program
    .command("mirror")
    .description("the server's verifying, caching Gentoo mirror");
  mirror
    .command("sync")
    .description(
      "fetch and verify the latest stage3 (per variant) and the repository snapshot into the cache",
    )
    .option(
      "--variant <v>",
      "stage3 variant; repeat or comma-separate (default: openrc,systemd)",
      collect,
      [],
    )
    .option("--upstream <url|dir>", "Gentoo mirror URL or a local directory in the same layout")
    .option("--cache-dir <dir>", "verified cache (serve's default)", DEFAULT_CACHE)
    .option("--keys-dir <dir>", "directory of <FPR>.asc public keys", DEFAULT_KEYS)
    .option(
      "--trusted <fpr>",
      "pinned primary-key fingerprint; repeatable (default: Gentoo release + snapshot keys)",
      collect,
      [],
    )
    .option(
      "--fixture <dir>",
      "use a fixture mirror built by test/fixture-mirror/build.ts (upstream, keys and fingerprint from it)",
    )
    .option("--no-snapshot", "skip snapshots/gentoo-latest.tar.xz")
    .option("--json", "{ok, verified, total, seconds, cacheDir, results} on stdout")
    .action(async (o: SyncOpts) => {
      const fixtureFpr = o.fixture
        ? readFileSync(join(o.fixture, "TEST-KEY-FPR"), "utf8").trim()
        : undefined;
      const upstream = o.upstream ?? o.fixture;
      if (!upstream)
        throw new CliError("usage", "mirror sync: give --upstream <url|dir> or --fixture <dir>");
      const cfg = parseMirrorConfig(
        {
          upstream,
          cacheDir: o.cacheDir,
          keysDir: o.fixture && o.keysDir === DEFAULT_KEYS ? join(o.fixture, "keys") : o.keysDir,
          trustedKeys: o.trusted.length
            ? o.trusted
            : fixtureFpr
              ? [fixtureFpr]
              : [GENTOO_RELEASE_KEY, GENTOO_SNAPSHOT_KEY],
        },
        "mirror sync",
      );
      const variants = o.variant.length ? o.variant : ["openrc", "systemd"];
      const t0 = Date.now();
      const results = await syncMirror(new MirrorCache(cfg), variants, o.snapshot);
      const verified = results.filter((r) => r.ok).length;
      const seconds = (Date.now() - t0) / 1000;
      if (results.some((r) => !r.ok)) process.exitCode = EXIT.failed;
      if (o.json) {
        const doc = { ok: verified === results.length, verified, total: results.length };
        const all = { ...doc, seconds, cacheDir: cfg.cacheDir, results };
        process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        return;
      }
      for (const r of results) {
        process.stdout.write(r.ok ? `ok      ${r.rel}\n` : `FAILED  ${r.rel}: ${r.error}\n`);
      }
      process.stdout.write(
        `mirror sync: ${verified}/${results.length} verified in ${seconds.toFixed(1)} s -> ${cfg.cacheDir}\n`,
      );
    });
}
