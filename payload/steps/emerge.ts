// emerge inside the new root: what the stage3 lacks (system-packages) and
// the kernel. A failure names the atoms and carries emerge's own reasons
// (run/emerge.ts), as phase 2 reports its packages.
import type { Handler } from "../run/executor.ts";
import type { RunContext } from "../run/context.ts";
import { runEmerge } from "../run/emerge.ts";
import { inChroot } from "../run/runner.ts";
import { emergeInstallArgv } from "../render/emerge.ts";
import type { EmergeProgress } from "../phase2/emerge-progress.ts";

export function emergeInTarget(
  ctx: RunContext,
  target: string,
  atoms: readonly string[],
): Promise<EmergeProgress> {
  return runEmerge(ctx.runner, inChroot(target, emergeInstallArgv(ctx.spec, atoms)), {
    onLine: ctx.log,
    onProgress: (p) => ctx.reporter.progress(ctx.step, p.done, p.total || undefined, "packages"),
  });
}

export const emerge: Handler<"emerge"> = async (a, ctx) => {
  const p = await emergeInTarget(ctx, a.target, a.atoms);
  ctx.log(`emerge: ${p.merged.length} merged (${p.binaries} binary)`);
};
