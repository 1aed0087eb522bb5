// Where the builder keeps things. Both folders are gitignored run state.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");

export interface BuildPaths {
  repo: string;
  cache: string;
  images: string;
  payloadOut: string;
}

export function defaultPaths(repo = REPO_ROOT): BuildPaths {
  // The release tarball (make release) carries the server, not the builder.
  if (!existsSync(join(repo, "image-builder")))
    throw new Error(
      `image build: ${repo} is not a source checkout; build the image in one (make image) ` +
        "and copy images/<id>/ and the current link into the server's imagesDir",
    );
  return {
    repo,
    cache: join(repo, "var/image-cache"),
    images: join(repo, "images"),
    payloadOut: join(repo, "build/payload/automagic-install"),
  };
}

/** Absolute paths of builder sources, for hashing the recipe into cache keys. */
export function builderSources(...rel: string[]): string[] {
  return rel.map((r) => join(REPO_ROOT, "image-builder", r));
}
