// install: the stage3 streamed into tar with progress, then the repository
// snapshot and /etc/portage.
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import type { Handler } from "../run/executor.ts";
import type { RunContext } from "../run/context.ts";
import { writeTargetFile } from "./target-fs.ts";

/** Handbook flags; xz -T0 decodes multi-block archives on every core. */
export const TAR_EXTRACT = [
  "tar",
  "--use-compress-program=xz -T0",
  "-xp",
  "--xattrs",
  "--xattrs-include=*.*",
  "--numeric-owner",
];

export async function extractWithProgress(
  ctx: RunContext,
  file: string,
  bytes: number,
  dest: string,
  extra: string[] = [],
  tar: readonly string[] = TAR_EXTRACT,
): Promise<void> {
  let done = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      ctx.reporter.progress(ctx.step, done, bytes);
      cb(null, chunk);
    },
  });
  const input = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(counter);
  await ctx.runner.run([...tar, "-f", "-", "-C", dest, ...extra], { inputStream: input });
}

function staged(ctx: RunContext) {
  if (!ctx.staged) throw new Error("nothing staged: fetch-verify did not run");
  return ctx.staged;
}

async function refuseNonEmpty(target: string): Promise<void> {
  const entries = (await readdir(target)).filter((e) => e !== "lost+found");
  if (entries.length)
    throw new Error(
      `${target} is not empty (${entries.slice(0, 5).join(", ")}): refusing to extract over it`,
    );
}

export const extractStage3: Handler<"extract-stage3"> = async (a, ctx) => {
  const s = staged(ctx);
  await refuseNonEmpty(a.target);
  await extractWithProgress(ctx, s.stage3, s.stage3Bytes, a.target);
  ctx.log(`extracted ${path.basename(s.stage3)} into ${a.target}`);
};

/** A capture's archive (payload/capture.ts): zstd instead of xz, same tar flags. */
const TAR_EXTRACT_ZSTD = TAR_EXTRACT.map((f) =>
  f.startsWith("--use-compress-program=") ? "--use-compress-program=zstd -T0" : f,
);

export const extractSysimg: Handler<"extract-sysimg"> = async (a, ctx) => {
  const s = staged(ctx);
  await refuseNonEmpty(a.target);
  await extractWithProgress(ctx, s.stage3, s.stage3Bytes, a.target, [], TAR_EXTRACT_ZSTD);
  ctx.log(`extracted ${path.basename(s.stage3)} into ${a.target}`);
  // Free the staging area now (a /home copy is unmounted before mount-home mounts /home).
  await s.cleanup();
};

export const portage: Handler<"portage"> = async (a, ctx) => {
  const s = staged(ctx);
  if (a.snapshot === false) {
    for (const f of a.files) await writeTargetFile(a.target, f);
    await s.cleanup();
    return;
  }
  const repos = path.join(a.target, "var/db/repos");
  const tmp = path.join(repos, ".snapshot");
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const { size } = await import("node:fs/promises").then((m) => m.stat(s.snapshot));
  await extractWithProgress(ctx, s.snapshot, size, tmp);
  // The snapshot holds one top directory (gentoo or gentoo-YYYYMMDD): it becomes /var/db/repos/gentoo.
  const top = await readdir(tmp);
  if (top.length !== 1)
    throw new Error(`${s.snapshot}: expected one top directory, found ${top.join(", ") || "none"}`);
  await rm(path.join(repos, "gentoo"), { recursive: true, force: true });
  await rename(path.join(tmp, top[0]!), path.join(repos, "gentoo"));
  await rm(tmp, { recursive: true, force: true });
  for (const f of a.files) await writeTargetFile(a.target, f);
  // Everything is on the new root now; free the RAM (or /home) staging area.
  await s.cleanup();
};
