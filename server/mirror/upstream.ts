// Where the cache gets files from: an http(s) Gentoo mirror, or a local
// directory in the same shape (the fixture mirror). Both write into a path
// the cache chose; neither decides anything about trust.
import { copyFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { downloadFile, HttpError } from "../../shared/verify/download.ts";
import { mirrorUrl } from "../../shared/verify/layout.ts";
import { safeResolve } from "./paths.ts";

export class UpstreamMissing extends Error {
  constructor(
    readonly rel: string,
    where: string,
    options?: ErrorOptions,
  ) {
    super(`${rel}: not on upstream ${where}`, options);
    this.name = "UpstreamMissing";
  }
}

export interface Upstream {
  readonly describe: string;
  /** Copies `rel` to `dest`; throws UpstreamMissing when the upstream does not have it. */
  fetch(rel: string, dest: string, maxBytes?: number): Promise<void>;
  /** Throws when the upstream cannot be reached at all (upstream-health.ts); cheap. */
  probe?(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 5000;

export function createUpstream(spec: string): Upstream {
  if (/^https?:\/\//.test(spec)) return httpUpstream(spec);
  return dirUpstream(spec.startsWith("file://") ? fileURLToPath(spec) : resolve(spec));
}

function httpUpstream(base: string): Upstream {
  return {
    describe: base,
    async fetch(rel, dest, maxBytes) {
      try {
        await downloadFile(mirrorUrl(base, rel), dest, {
          retries: 3,
          ...(maxBytes !== undefined ? { maxBytes } : {}),
        });
      } catch (err) {
        if (err instanceof HttpError && err.status === 404)
          throw new UpstreamMissing(rel, base, { cause: err });
        throw err;
      }
    },
    async probe() {
      // Any HTTP answer means the mirror is there; only no answer is "down".
      const res = await fetch(base, {
        method: "HEAD",
        redirect: "manual",
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      await res.body?.cancel();
    },
  };
}

function dirUpstream(root: string): Upstream {
  return {
    describe: root,
    async fetch(rel, dest) {
      // safeResolve refuses symlinks that lead out of the fixture tree.
      const src = await safeResolve(root, rel);
      if (!src) throw new UpstreamMissing(rel, root);
      await copyFile(src, dest);
    },
    async probe() {
      if (!(await stat(root)).isDirectory()) throw new Error(`${root} is not a directory`);
    },
  };
}
