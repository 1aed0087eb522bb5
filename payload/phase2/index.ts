// Phase 2: runs on the first boot of the installed system (root "/"), or
// against a chroot directory in tests. Order: portage files (the host's
// etc/portage from the overlay, then the spec's lists), optional sync,
// packages (@world and the host's, updated to the spec, binpkgs first),
// login shells the packages brought, the rest of the overlay (after
// packages, so the owners packages create exist and our config wins over
// theirs), services, sshd last; then run-done with a summary.
import { access, constants, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { applyOverlay, renderManifest, type ApplyResult } from "./overlay-apply.ts";
import { fetchOverlay, type TarEntry } from "./overlay-read.ts";
import { ensurePortageDirs, writeIfChanged } from "./portage-apply.ts";
import { renderPortageFiles, SYNC_ARGV, syncDue } from "./portage.ts";
import { initialProgress, type EmergeProgress } from "./emerge-progress.ts";
import { planServices, sshdRestartArgv, unitName } from "./services.ts";
import { readServiceState, serviceExists } from "./services-state.ts";
import { planShells } from "./shells.ts";
import { emergeWorldArgv } from "../render/emerge.ts";
import { EmergeError, runEmerge } from "../run/emerge.ts";
import { runStep } from "../run/step.ts";
import { inRoot } from "./target-fs.ts";
import { confirmOwnSlot, isAb, ownSlot } from "./ab.ts";
import type { Phase2Context, Phase2Summary, StepTiming } from "./types.ts";

export type { Phase2Context, Phase2Summary, CommandRunner, Reporter } from "./types.ts";
export { renderFirstBoot } from "./firstboot.ts";

export const STATE_DIR = "/var/lib/automagic";
export const MANIFEST = `${STATE_DIR}/overlay.manifest`;
export const SYNC_STAMP = `${STATE_DIR}/emerge-sync.stamp`;

export { inRoot } from "./target-fs.ts";

const isPortage = (rel: string) => rel === "etc/portage" || rel.startsWith("etc/portage/");

export async function runPhase2(ctx: Phase2Context): Promise<Phase2Summary> {
  const now = ctx.now ?? (() => new Date());
  const t0 = now().getTime();
  const steps: StepTiming[] = [];
  const { spec, root, report } = ctx;
  const at = (p: string) => path.join(root, p);
  const protect = spec.overlay.protect;
  const step = <T>(id: string, fn: () => Promise<{ value: T; message: string }>) =>
    runStep({ id }, report, fn, {
      clock: () => now().getTime(),
      onDone: (ms) => steps.push({ step: id, ms }),
    });

  const overlay: TarEntry[] = spec.overlay.present
    ? await step("overlay-fetch", async () => {
        const entries = await fetchOverlay(ctx.server, ctx.token, ctx.fetch);
        return { value: entries, message: `${entries.length} entries` };
      })
    : [];

  const portage = await step("portage", async () => {
    await ensurePortageDirs(root);
    const fromOverlay = await applyOverlay(overlay, { root, protect, filter: isPortage });
    const written = [...fromOverlay.written];
    let unchanged = fromOverlay.unchanged;
    for (const f of renderPortageFiles(spec)) {
      if (await writeIfChanged(at(f.path), f.content, 0o644)) written.push(f.path);
      else unchanged++;
    }
    return {
      value: { fromOverlay, written, unchanged },
      message: `${written.length} written, ${unchanged} unchanged`,
    };
  });

  let sync: Phase2Summary["sync"] = "not-requested";
  if (spec.portage.sync) {
    sync = await step("sync", async () => {
      const stamp = await readOptional(at(SYNC_STAMP));
      if (!syncDue(stamp, now()))
        return { value: "skipped-recent" as const, message: `last sync ${stamp?.trim()}` };
      await ctx.runner.run(inRoot(root, SYNC_ARGV));
      await mkdir(at(STATE_DIR), { recursive: true });
      await writeFile(at(SYNC_STAMP), `${now().toISOString()}\n`);
      return { value: "done" as const, message: "emerge --sync done" };
    });
  }

  // With keep-going, a failed package does not stop the overlay and
  // services (the machine should end up as close to the host as it can);
  // the run still ends failed so the first-boot hook retries.
  let packagesError: EmergeError | undefined;
  const emergeArgv = emergeWorldArgv(spec);
  let progress = initialProgress();
  try {
    progress = await step("packages", async () => {
      const p = await emerge(ctx, inRoot(root, emergeArgv));
      return { value: p, message: `${p.merged.length} merged (${p.binaries} binary)` };
    });
  } catch (err) {
    if (!(err instanceof EmergeError) || !spec.portage.keepGoing) throw err;
    packagesError = err;
  }

  const shells = planShells(spec, (await readOptional(at("etc/passwd"))) ?? "");
  if (shells.length) {
    await step("shells", async () => {
      const set: string[] = [];
      const missing: string[] = [];
      for (const c of shells) {
        if (!(await executable(at(c.shell)))) {
          missing.push(`users[${c.index}].shell: ${c.shell} (${c.user})`);
          continue;
        }
        await ctx.runner.run(inRoot(root, c.argv));
        set.push(`${c.user} ${c.shell}`);
      }
      // After a failed emerge the run fails anyway; the shells wait for the retry.
      if (missing.length && !packagesError)
        throw new Error(`not installed by the packages step: ${missing.join(", ")}`);
      const waiting = missing.length ? `; waiting for packages: ${missing.join(", ")}` : "";
      return { value: set, message: `set ${set.join(", ") || "none"}${waiting}` };
    });
  }

  const rest = await step("overlay", async () => {
    const r = await applyOverlay(overlay, { root, protect, filter: (rel) => !isPortage(rel) });
    const manifest = renderManifest([...portage.fromOverlay.records, ...r.records]);
    if (spec.overlay.present) await writeIfChanged(at(MANIFEST), manifest, 0o644);
    return {
      value: r,
      message: `${r.written.length} written, ${r.unchanged} unchanged, ${r.protected.length} protected`,
    };
  });

  const services = await step("services", async () => {
    const actions = planServices(spec, await readServiceState(root, spec.init));
    const waiting: string[] = [];
    for (const a of actions) {
      // After a failed emerge a service its package would have brought waits
      // for the retry (as a login shell does), so the step still enables the
      // rest and the run fails with emerge's reason, not rc-update's.
      if (
        packagesError &&
        a.op === "enable" &&
        !(await serviceExists(root, spec.init, a.service))
      ) {
        waiting.push(a.service);
        continue;
      }
      await ctx.runner.run(inRoot(root, a.argv));
    }
    const enabled = actions
      .filter((a) => a.op === "enable" && !waiting.includes(a.service))
      .map((a) => a.service);
    const disabled = [...new Set(actions.filter((a) => a.op === "disable").map((a) => a.service))];
    const touched = new Set([...enabled, ...disabled, ...waiting]);
    const unchanged = [...spec.services.enable, ...spec.services.disable].filter(
      (s) => !touched.has(s),
    );
    const wait = waiting.length ? `; waiting for packages: ${waiting.join(", ")}` : "";
    return {
      value: { enabled, disabled, unchanged },
      message: `${enabled.length} enabled, ${disabled.length} disabled, ${unchanged.length} unchanged${wait}`,
    };
  });

  const sshdRestarted = await step("sshd", async () => {
    const sshdName = unitName(spec.init, "sshd");
    const touched =
      allWritten(portage.fromOverlay, rest).some((p) => p.startsWith("/etc/ssh/")) ||
      services.enabled.some((s) => unitName(spec.init, s) === sshdName);
    // In a chroot there is no running sshd to restart.
    if (!touched || root !== "/") {
      return { value: false, message: touched ? "not restarted (chroot)" : "unchanged" };
    }
    await ctx.runner.run(sshdRestartArgv(spec.init));
    return { value: true, message: "restarted" };
  });

  const summary: Phase2Summary = {
    packages: {
      requested: spec.packages,
      installed: progress.merged,
      emergeRan: true,
    },
    portage: { written: portage.written, unchanged: portage.unchanged },
    sync,
    overlay: {
      written: allWritten(portage.fromOverlay, rest),
      unchanged: portage.fromOverlay.unchanged + rest.unchanged,
      protected: [...portage.fromOverlay.protected, ...rest.protected],
      skipped: [],
    },
    services,
    sshdRestarted,
    steps,
    totalMs: now().getTime() - t0,
  };
  if (packagesError) throw packagesError;
  // Layout ab: everything above went well on the new slot; it becomes the default.
  if (isAb(spec)) {
    const own = await step("confirm-slot", async () => {
      const o = await ownSlot(ctx.runner, root, spec.firmware);
      if (!o)
        throw new Error(
          "layout ab, but the filesystem at / is not labelled gentoo-a or gentoo-b: which slot this is is not known",
        );
      await confirmOwnSlot(ctx.runner, root, o);
      return { value: o, message: `slot ${o.slot} confirmed (ab_default=${o.slot})` };
    });
    summary.slot = own.slot;
    summary.confirmed = true;
  }
  if (spec.postInstall.capture) {
    // The run goes on: the server waits for this system's reboot into the
    // RAM system, which captures it (the first-boot wrapper reboots).
    await report.emit({
      kind: "phase-done",
      message: `phase 2 done; capture to ${spec.postInstall.capture.to.join(" and ")} follows after a reboot`,
      summary: { ...summary, next: "capture" },
    });
    return summary;
  }
  await report.emit({ kind: "phase-done", message: "phase 2 done", summary: { ...summary } });
  await report.emit({ kind: "run-done", message: "install finished", summary: { ...summary } });
  return summary;
}

function allWritten(a: ApplyResult, b: ApplyResult): string[] {
  return [...a.written, ...b.written];
}

/**
 * emerge with its output as "packages" log lines (as phase 1 reports its
 * emerges) and its progress as "packages" events (one per change of count
 * or package).
 */
async function emerge(ctx: Phase2Context, argv: string[]): Promise<EmergeProgress> {
  let last = "";
  // Reporter.emit queues and returns at once (never a rejected promise):
  // the output callbacks cannot wait for it.
  return runEmerge(ctx.runner, argv, {
    onLine: (line) =>
      void ctx.report.emit({ kind: "log", step: "packages", message: line.slice(0, 60000) }),
    onProgress: (p) => {
      const key = `${p.done}/${p.total}/${p.current ?? ""}`;
      if (key === last) return;
      last = key;
      void ctx.report.emit({
        kind: "progress",
        step: "packages",
        progress: { done: p.done, total: p.total, unit: "packages" },
        ...(p.current ? { message: p.current } : {}),
      });
    },
  });
}

async function executable(p: string): Promise<boolean> {
  return access(p, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function readOptional(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, "utf8");
  } catch {
    return undefined;
  }
}
