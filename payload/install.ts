// Phase 1 end to end: spec -> probe -> plan -> execute -> report. main.ts
// only parses flags and calls runPhase1().
import { readFile } from "node:fs/promises";
import { parseInstallSpec, type InstallSpec } from "./spec/schema.ts";
import { probeSystem } from "./probe/index.ts";
import { planInstall } from "./plan/plan.ts";
import { checkBootMac } from "./plan/checks.ts";
import { bootifMac, netbooted } from "./probe/cmdline.ts";
import { planTree } from "./plan/tree.ts";
import { PlanRefusal, type DeploySource } from "./plan/types.ts";
import type { ProbedSystem } from "./probe/types.ts";
import { pickImage } from "../shared/sysimgs.ts";
import { reportHomeSysimgs } from "./sysimg/home.ts";
import { Reporter } from "./run/reporter.ts";
import { execute, StepFailed } from "./run/executor.ts";
import { execaRunner, type CommandRunner } from "./run/runner.ts";
import type { RunContext } from "./run/context.ts";
import { cleanupFor, handlers } from "./steps/index.ts";

export interface Phase1Options {
  server?: string;
  token?: string;
  specFile?: string;
  devices?: string[];
  dryRun?: boolean;
  reboot?: boolean;
  target?: string;
  stateDir?: string;
  runner?: CommandRunner;
  fetch?: typeof fetch;
  write?: (line: string) => void;
  selfBinary?: string;
  /** deploy:<image>: the root comes from that system image (plan.ts PlanOptions.deploy). */
  deploy?: string;
  /** The kernel command line (BOOTIF, automagic.url); /proc/cmdline when absent. */
  cmdline?: string;
}

/** Exit code: 0 done, 1 a step failed, 2 the plan was refused or the spec is bad. */
export async function runPhase1(o: Phase1Options): Promise<number> {
  const write = o.write ?? ((l: string) => process.stdout.write(l + "\n"));
  const f = o.fetch ?? fetch;
  const runner = o.runner ?? execaRunner();
  const reporter = new Reporter({
    phase: 1,
    fetch: f,
    write,
    ...(o.server && o.token && !o.dryRun ? { server: o.server, token: o.token } : {}),
  });
  reporter.emit({ kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START" });
  let spec: InstallSpec;
  try {
    spec = await loadSpec(o, f);
  } catch (err) {
    reporter.emit({ kind: "step-fail", step: "spec", message: (err as Error).message });
    await reporter.flush();
    return 2;
  }
  const cmdline = o.cmdline ?? (await readFile("/proc/cmdline", "utf8").catch(() => ""));
  const plan = async () => {
    // Before the probe: on another machine not even a read-only mount may happen.
    checkBootMac(spec, bootifMac(cmdline), netbooted(cmdline));
    const probe = await probeSystem(spec, {
      runner,
      cmdline,
      fetch: f,
      // An offline --dry-run --spec still plans, from an estimate the plan names.
      downloads: o.deploy ? "skip" : o.dryRun ? "best-effort" : "required",
      ...(o.devices ? { devices: o.devices } : {}),
      ...(o.stateDir ? { scratch: o.stateDir } : {}),
    });
    const deploy = o.deploy ? deploySource(o.deploy, spec, probe) : undefined;
    if (deploy)
      probe.downloads = {
        stage3Bytes: 0,
        snapshotBytes: 0,
        ...(deploy.server ? { sysimg: { name: deploy.image, bytes: deploy.server.bytes } } : {}),
      };
    return {
      probe,
      steps: planInstall(spec, probe, {
        ...(o.target ? { target: o.target } : {}),
        ...(o.stateDir ? { stateDir: o.stateDir } : {}),
        ...(deploy ? { deploy } : {}),
      }),
    };
  };
  let planned: Awaited<ReturnType<typeof plan>>;
  try {
    planned = await plan();
    if (o.server && o.token && !o.dryRun && planned.probe.home?.sysimgs)
      await reportHomeSysimgs(f, o.server, o.token, planned.probe.home.sysimgs);
  } catch (err) {
    const refused = err instanceof PlanRefusal;
    reporter.emit({
      kind: "step-fail",
      step: "plan",
      message: `${refused ? "refused: " : ""}${(err as Error).message}`,
    });
    await reporter.flush();
    return 2;
  }
  if (o.dryRun) {
    write(
      planTree(
        `automagic-install: plan for ${spec.host} (${spec.firmware}, ${spec.init}); nothing will be touched`,
        planned.steps,
      ).trimEnd(),
    );
    return 0;
  }
  const ctx: RunContext = {
    spec,
    probe: planned.probe,
    runner,
    reporter,
    ...(o.server ? { server: o.server } : {}),
    ...(o.token ? { token: o.token } : {}),
    fetch: f,
    selfBinary: o.selfBinary ?? (await selfBinary()),
    step: "",
    kept: { hashes: {}, hostKeys: [] },
    uuids: new Map(),
    mounts: [],
    createdLinks: [],
    log: (line) => reporter.emit({ kind: "log", step: ctx.step, message: line.slice(0, 60000) }),
  };
  try {
    const timings = await execute(
      planned.steps,
      ctx,
      handlers,
      cleanupFor(o.target ?? "/mnt/gentoo"),
    );
    // Layout ab: the slot this run wrote (the server's status shows both slots).
    const boot = planned.steps.find((s) => s.action.kind === "bootloader")?.action;
    const slot = boot?.kind === "bootloader" ? boot.ab?.slot : undefined;
    reporter.emit({
      kind: "phase-done",
      message: slot ? `phase 1 done: slot ${slot} written` : "phase 1 done",
      summary: { steps: timings, ...(slot ? { slot } : {}) },
    });
    await reporter.flush();
  } catch (err) {
    if (!(err instanceof StepFailed))
      reporter.emit({
        kind: "step-fail",
        step: ctx.step || "run",
        message: (err as Error).message,
      });
    write("automagic-install: the machine stays in the RAM system (sshd is up); nothing rebooted");
    await reporter.flush();
    return 1;
  }
  if (o.reboot) {
    write("automagic-install: rebooting into the new system");
    await runner.run(["reboot"]);
  }
  return 0;
}

export async function loadSpec(o: Phase1Options, f: typeof fetch): Promise<InstallSpec> {
  if (o.specFile)
    return parseInstallSpec(JSON.parse(await readFile(o.specFile, "utf8")), o.specFile);
  if (!o.server || !o.token)
    throw new Error(
      "need --spec FILE, or --server and --token (or automagic.url/automagic.token on the kernel command line)",
    );
  const url = `${o.server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(o.token)}/spec`;
  const res = await f(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return parseInstallSpec(await res.json(), url);
}

/**
 * Which image deploy:<asked> means and where it is: the probe's list of the
 * machine's /home and the server's list in the spec (shared/sysimgs.ts).
 * A refusal (nothing touched) when neither store has it.
 */
function deploySource(asked: string, spec: InstallSpec, probe: ProbedSystem): DeploySource {
  const home = probe.home?.sysimgs ?? [];
  let picked;
  try {
    picked = pickImage(asked, home, spec.run?.deploy?.server ?? []);
  } catch (err) {
    throw new PlanRefusal("deploy", (err as Error).message);
  }
  return {
    image: picked.name,
    ...(picked.home && probe.home
      ? {
          home: {
            device: probe.home.device,
            ...(probe.home.fstype ? { fstype: probe.home.fstype } : {}),
            sha256: picked.home.sha256,
            bytes: picked.home.bytes,
          },
        }
      : {}),
    ...(picked.server
      ? { server: { sha256: picked.server.sha256, bytes: picked.server.bytes } }
      : {}),
  };
}

/** The file phase 2 runs: the SEA executable itself, or the JS bundle node was given. */
async function selfBinary(): Promise<string> {
  try {
    const sea = (await import("node:sea" as string)) as { isSea?: () => boolean };
    if (sea.isSea?.()) return process.execPath;
  } catch {
    // node:sea is missing before Node 20.12: not a SEA
  }
  return process.argv[1] ?? process.execPath;
}
