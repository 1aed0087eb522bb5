// Builds the offline, Gentoo-mirror-shaped fixture tree (test only, never shipped):
//   npx tsx test/fixture-mirror/build.ts [--out var/fixture-mirror] [--variants openrc,systemd]
//     [--force] [--sequential]
// Output (see README.md):
//   releases/amd64/autobuilds/<stamp>/stage3-amd64-<v>-<stamp>.tar.xz{,.asc,.DIGESTS}
//   releases/amd64/autobuilds/latest-stage3-amd64-<v>.txt
//   snapshots/gentoo-latest.tar.xz{,.gpgsig}
//   distfiles/layout.conf, distfiles/<BLAKE2B byte>/<P>-debian.tar (GLEP 75 layout)
//   keys/<FPR>.asc, TEST-KEY-FPR, BUILD-INFO.json, .input-hash
// The secret key stays in <out>-secret/ (never inside the served tree).
// Cached: nothing is rebuilt while the hash of the recipe files matches.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { acquireLock } from "../../shared/lock.ts";
import { SUITE, VARIANTS } from "./packages.ts";
import { BINHOST_REL, buildBinhost } from "./binhost.ts";
import { buildVariant, type GentooSources } from "./recipe.ts";

type Stage = Awaited<ReturnType<typeof buildVariant>>;
import { buildSnapshot } from "./snapshot.ts";
import { buildStamp, exportPublicKey, generateTestKey, signDetached } from "./sign.ts";

const SRC = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(SRC, "../..");
/** Gentoo's Portage and getuto, at these upstream tags. */
const PORTAGE_TAG = "portage-3.0.82";
const GETUTO_TAG = "getuto-2.0";
const UPSTREAM: Record<string, string> = {
  [PORTAGE_TAG]: "https://github.com/gentoo/portage.git",
  [GETUTO_TAG]: "https://github.com/projg2/getuto.git",
};

/**
 * The sources come from ../shared/vendor when it is there (machines without
 * Internet); otherwise they are cloned at their tags next to the output.
 */
async function gentooSources(varDir: string): Promise<GentooSources> {
  const pick = async (tag: string): Promise<string> => {
    const vendored = resolve(REPO, "../shared/vendor", tag);
    if (existsSync(vendored)) return vendored;
    const dest = join(varDir, "fixture-mirror-sources", tag);
    if (!existsSync(dest)) {
      await mkdir(dirname(dest), { recursive: true });
      await execa("git", ["clone", "--depth", "1", "--branch", tag, UPSTREAM[tag] ?? "", dest], {
        stdout: "inherit",
        stderr: "inherit",
      });
    }
    return dest;
  };
  return { portage: await pick(PORTAGE_TAG), getuto: await pick(GETUTO_TAG) };
}

/** Files that do not decide the tree's content: editing them must not force a rebuild. */
const NOT_INPUTS = new Set(["README.md", "build.ts"]);

interface Args {
  out: string;
  variants: string[];
  force: boolean;
  /** Build the variants one after the other instead of side by side. */
  sequential: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    out: join(REPO, "var/fixture-mirror"),
    variants: Object.keys(VARIANTS),
    force: false,
    sequential: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === "--out") a.out = resolve(argv[++i] ?? "");
    else if (k === "--variants") a.variants = (argv[++i] ?? "").split(",").filter(Boolean);
    else if (k === "--force") a.force = true;
    else if (k === "--sequential") a.sequential = true;
    else throw new Error(`build.ts: unknown argument ${k}`);
  }
  for (const v of a.variants)
    if (!VARIANTS[v]) throw new Error(`build.ts: --variants: unknown variant ${v}`);
  return a;
}

/** Hash of every recipe file in this folder plus the variant list: the cache key. */
async function inputHash(variants: string[]): Promise<string> {
  const h = createHash("sha256");
  const walk = async (dir: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) out.push(...(await walk(p)));
      else if (!NOT_INPUTS.has(relative(SRC, p))) out.push(p);
    }
    return out;
  };
  for (const f of (await walk(SRC)).sort()) {
    h.update(relative(SRC, f))
      .update("\0")
      .update(await readFile(f))
      .update("\0");
  }
  h.update(variants.join(",")).update(PORTAGE_TAG).update(GETUTO_TAG);
  return h.digest("hex");
}

const timings: Record<string, number> = {};
async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  process.stdout.write(`fixture: ${name} ...\n`);
  const r = await fn();
  timings[name] = Math.round(performance.now() - t0) / 1000;
  process.stdout.write(`fixture: ${name} done in ${timings[name]} s\n`);
  return r;
}

/** Built from these inputs: with `hash`, or with every variant (a superset serves any subset). */
async function upToDate(out: string, hash: string): Promise<boolean> {
  const f = join(out, ".input-hash");
  if (!existsSync(f)) return false;
  const built = (await readFile(f, "utf8")).trim();
  return built === hash || built === (await inputHash(Object.keys(VARIANTS)));
}

async function build(args: Args, hash: string): Promise<void> {
  const t0 = performance.now();
  const tmp = `${args.out}.tmp-${process.pid}`;
  const secret = `${args.out}-secret`;
  const secretTmp = `${secret}.tmp-${process.pid}`;
  const aptCache = join(dirname(args.out), "fixture-mirror-apt-cache");
  await mkdir(join(tmp, "keys"), { recursive: true });
  try {
    const key = await timed("test key", () =>
      generateTestKey(
        secretTmp,
        "automagic fixture mirror (TEST ONLY, never trust) <fixture@automagic.invalid>",
      ),
    );
    const pubkey = join(tmp, "keys", `${key.fingerprint}.asc`);
    await exportPublicKey(key, pubkey);
    await writeFile(join(tmp, "TEST-KEY-FPR"), `${key.fingerprint}\n`);
    const when = new Date();
    const stamp = buildStamp(when);
    const sources = await gentooSources(dirname(args.out));
    const work = join(tmp, "work");
    const builder = join(work, "builder");
    // Each variant writes its own list (they are the same); the binhost reads the first's.
    const debManifest = (v: string) => join(work, `debs-${v}.txt`);
    const one = (v: string, i: number) => {
      const inp = { key, tmp, stamp, when, aptCache, pubkey, sources, debManifest: debManifest(v) };
      // The first variant's root, once packed, becomes the binhost's build root.
      return buildVariant(timed, v, i === 0 ? { ...inp, keepRoot: builder } : inp);
    };
    // Side by side by default: one variant's dpkg runs while the other's xz
    // packs (measured in docs/PERFORMANCE.md "First run").
    const stages = [];
    if (args.sequential) for (const [i, v] of args.variants.entries()) stages.push(await one(v, i));
    else {
      // allSettled: a failed variant must not leave the other writing into a removed tmp
      const settled = await Promise.allSettled(args.variants.map(one));
      for (const r of settled) if (r.status === "rejected") throw r.reason;
      stages.push(...settled.map((r) => (r as PromiseFulfilledResult<Stage>).value));
    }
    const binhost = await timed("binhost (real Portage: manifests, signed gpkgs, md5-cache)", () =>
      buildBinhost({
        builder,
        work,
        aptCache,
        debManifest: debManifest(args.variants[0] ?? ""),
        key,
        outBinhost: join(tmp, BINHOST_REL),
        outDistfiles: join(tmp, "distfiles"),
      }),
    );
    await timed("snapshot", async () => {
      await mkdir(join(tmp, "snapshots"), { recursive: true });
      const snap = join(tmp, "snapshots", "gentoo-latest.tar.xz");
      await buildSnapshot(binhost.repo, join(work, "snapshot"), snap, stamp, when);
      await signDetached(key, snap, `${snap}.gpgsig`);
    });
    await rm(join(tmp, "work"), { recursive: true, force: true });
    await execa("gpgconf", ["--homedir", secretTmp, "--kill", "all"], { reject: false });
    const total = Math.round(performance.now() - t0) / 1000;
    const info = {
      built: when.toISOString(),
      stamp,
      suite: SUITE,
      fingerprint: key.fingerprint,
      stages,
      binpkgs: binhost.packages,
      portage: PORTAGE_TAG,
      getuto: GETUTO_TAG,
      timings,
      totalSeconds: total,
      inputHash: hash,
    };
    await writeFile(join(tmp, "BUILD-INFO.json"), `${JSON.stringify(info, null, 2)}\n`);
    await writeFile(join(tmp, ".input-hash"), `${hash}\n`);
    await rm(args.out, { recursive: true, force: true });
    await rm(secret, { recursive: true, force: true });
    await rename(secretTmp, secret);
    await rename(tmp, args.out);
    process.stdout.write(`fixture: built ${args.out} in ${total} s (key ${key.fingerprint})\n`);
  } catch (err) {
    await execa("gpgconf", ["--homedir", secretTmp, "--kill", "all"], { reject: false });
    await rm(secretTmp, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const hash = await inputHash(args.variants);
  if (!args.force && (await upToDate(args.out, hash))) {
    process.stdout.write(`fixture: ${args.out} is up to date (input hash ${hash.slice(0, 12)})\n`);
    return;
  }
  await mkdir(dirname(args.out), { recursive: true });
  const release = await acquireLock(`${args.out}.lock`, (pid) =>
    process.stdout.write(`fixture: another build (pid ${pid}) is running; waiting for it\n`),
  );
  try {
    // The build we waited for may have produced exactly this.
    if (!args.force && (await upToDate(args.out, hash))) {
      process.stdout.write(
        `fixture: ${args.out} is up to date (input hash ${hash.slice(0, 12)})\n`,
      );
      return;
    }
    await build(args, hash);
  } finally {
    await release();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `fixture: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
