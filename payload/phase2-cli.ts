// `automagic-install --phase 2`: the first-boot hook's entry. Reads the
// server and phase-2 token phase 1 stored, fetches the spec with that token
// and hands over to payload/phase2 (runPhase2), reporting with phase: 2.
// runPhase2 itself reports phase-done, run-done and every step's step-fail;
// this file reports only what happens outside its steps (the spec fetch, or
// an error no step reported), so the server sees each outcome exactly once.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseInstallSpec, type InstallSpec } from "./spec/schema.ts";
import { fallBackIfTrial, isAb, ownSlot } from "./phase2/ab.ts";
import { runPhase2 } from "./phase2/index.ts";
import {
  AB_FALLBACK_FILE,
  CAPTURE_NEXT_FILE,
  FIRSTBOOT_SERVER_FILE,
  FIRSTBOOT_TOKEN_FILE,
} from "./phase2/firstboot.ts";
import type { Phase2Event } from "./phase2/types.ts";
import { Reporter } from "./run/reporter.ts";
import { execaRunner, type CommandRunner } from "./run/runner.ts";
import { INSTALLED_STATE } from "./steps/finish.ts";

/** What the CLI needs of a reporter; run/reporter.ts's Reporter satisfies it. */
export interface Phase2CliReporter {
  emit(e: Phase2Event): void;
  flush(): Promise<void>;
}

export interface Phase2CliOptions {
  server?: string | undefined;
  token?: string | undefined;
  root?: string;
  /** Injectable for tests; default: the real reporter, runner and fetch. */
  reporter?: Phase2CliReporter;
  runner?: CommandRunner;
  fetch?: typeof fetch;
  now?: () => Date;
}

/** Exit code: 0 done, 1 failed (already reported). */
export async function runPhase2Cli(o: Phase2CliOptions): Promise<number> {
  const read = (f: string) => readFile(`${INSTALLED_STATE}/${f}`, "utf8").then((s) => s.trim());
  const server = o.server ?? (await read(FIRSTBOOT_SERVER_FILE));
  const token = o.token ?? (await read(FIRSTBOOT_TOKEN_FILE));
  const f = o.fetch ?? fetch;
  const reporter = o.reporter ?? new Reporter({ phase: 2, server, token, fetch: f });
  reporter.emit({ kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START phase 2" });
  let spec;
  try {
    const url = `${server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(token)}/spec`;
    const res = await f(url);
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    spec = parseInstallSpec(await res.json(), url);
  } catch (err) {
    const message = (err as Error).message;
    reporter.emit({ kind: "step-fail", step: "spec", message });
    await abFallBack(o, reporter, undefined, `spec: ${message}`);
    await reporter.flush();
    return 1;
  }
  let failed: Phase2Event | undefined;
  try {
    await runPhase2({
      spec,
      server,
      token,
      root: o.root ?? "/",
      runner: o.runner ?? execaRunner(),
      fetch: f,
      ...(o.now ? { now: o.now } : {}),
      report: {
        emit: (e) => {
          if (e.kind === "step-fail") failed ??= e;
          reporter.emit(e);
        },
      },
    });
    // The first-boot wrapper reboots into netboot when this file is there.
    if (spec.postInstall.capture) {
      const root = (o.root ?? "/").replace(/\/+$/, "");
      await writeFile(`${root}${INSTALLED_STATE}/${CAPTURE_NEXT_FILE}`, "capture\n");
    }
    return 0;
  } catch (err) {
    // A failed step has reported itself (step, command, exit code, tail).
    if (!failed) {
      failed = { kind: "step-fail", step: "phase2", message: (err as Error).message };
      reporter.emit(failed);
    }
    await abFallBack(o, reporter, spec, `${failed.step}: ${failed.message ?? ""}`);
    return 1;
  } finally {
    await reporter.flush();
  }
}

/**
 * Layout ab, phase 2 failed on a slot under trial: the old slot is the
 * default again and the first-boot wrapper reboots into it (AB_FALLBACK_FILE).
 * Without the spec (it could not be fetched) the slot is known by its label.
 */
async function abFallBack(
  o: Phase2CliOptions,
  reporter: Phase2CliReporter,
  spec: InstallSpec | undefined,
  why: string,
): Promise<void> {
  if (spec && !isAb(spec)) return;
  const root = o.root ?? "/";
  const runner = o.runner ?? execaRunner();
  try {
    const firmware =
      spec?.firmware ?? (existsSync(path.join(root, "sys/firmware/efi")) ? "uefi" : "bios");
    const own = await ownSlot(runner, root, firmware);
    if (!own || !(await fallBackIfTrial(runner, root, own, why))) return;
    await writeFile(path.join(root, INSTALLED_STATE, AB_FALLBACK_FILE), `${own.slot}\n`);
    reporter.emit({
      kind: "log",
      step: "phase2",
      message: `slot ${own.slot} was on trial and failed (${why.split("\n")[0]}); the next boot is the previous slot (ab_default)`,
    });
  } catch (err) {
    reporter.emit({
      kind: "log",
      step: "phase2",
      message: `could not fall back to the previous slot: ${(err as Error).message}`,
    });
  }
}
