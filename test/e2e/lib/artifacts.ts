// What every e2e run needs built (both cached by their builders, so only the
// first run on a machine pays): the netboot image and the fixture mirror.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execa } from "execa";

export const REPO = resolve(import.meta.dirname, "../../..");
export const FIXTURE_DIR = join(REPO, "var/fixture-mirror");
export const IMAGES_DIR = join(REPO, "images");

export interface Artifacts {
  imagesDir: string;
  fixtureDir: string;
  fixtureKey: string;
}

function log(msg: string): void {
  process.stderr.write(`[e2e] ${msg}\n`);
}

/**
 * Builds (or reuses) the image and the fixture mirror; output goes to var/*.log.
 * `variants`: only these stage3s (the demo's host needs one); by default all,
 * the same cache key as `make fixture`. A mirror holding all is reused for any.
 */
export async function ensureArtifacts(opts: { variants?: string[] } = {}): Promise<Artifacts> {
  const t0 = Date.now();
  log("building/reusing the fixture mirror (var/fixture-mirror) ...");
  const only = opts.variants ? ["--variants", opts.variants.join(",")] : [];
  await execa("npx", ["tsx", "test/fixture-mirror/build.ts", ...only], {
    cwd: REPO,
    stdio: ["ignore", "inherit", "inherit"],
  });
  await ensureImage();
  const fixtureKey = readFileSync(join(FIXTURE_DIR, "TEST-KEY-FPR"), "utf8").trim();
  log(`artifacts ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { imagesDir: IMAGES_DIR, fixtureDir: FIXTURE_DIR, fixtureKey };
}

/** Builds (or reuses) the netboot image only; returns the images folder. */
export async function ensureImage(): Promise<string> {
  log("building/reusing the netboot image (images/current) ...");
  await execa(join(REPO, "bin/automagic"), ["image", "build"], {
    cwd: REPO,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (!existsSync(join(IMAGES_DIR, "current")))
    throw new Error("image build left no images/current");
  return IMAGES_DIR;
}
