// One storm against one stack: writes the plan, starts the machines as one
// process in the client namespace (driver.ts), samples the stack's memory
// and event loop once a second, and sums up the results (report.ts).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { nsExec } from "../../lib/netns.ts";
import type { DriverPlan } from "./driver.ts";
import type { MachinePlan, MachineResult } from "./machine.ts";
import { summarize, type StormReport } from "./report.ts";
import { ROUTE, type Sampled, type Stack } from "./stacks.ts";
import { stormMac } from "./world.ts";
import type { Image } from "./world.ts";

export interface StormOptions {
  n: number;
  /** Machines power on evenly over this many ms. */
  spreadMs: number;
  /** Share of machines that start with firmware PXE + TFTP (the rest have iPXE in ROM). */
  tftpShare: number;
  /** Seconds of one-batch-a-second events per armed machine. */
  installSeconds: number;
  /** The first `armed` machines walk the control plane (automagic only). */
  armed: number;
}

const DRIVER = join(import.meta.dirname, "driver.ts");
const REPO = join(import.meta.dirname, "../../..");

export function planMachines(o: StormOptions, control: boolean): MachinePlan[] {
  const every = o.tftpShare > 0 ? 1 / o.tftpShare : Infinity;
  return Array.from({ length: o.n }, (_, i) => ({
    mac: stormMac(i),
    uuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    tftp: Math.floor(i % every) === 0,
    control: control && i < o.armed,
    at: o.n > 1 ? Math.round((i * o.spreadMs) / (o.n - 1)) : 0,
  }));
}

export async function storm(
  stack: Stack,
  o: StormOptions,
  image: Image,
  dir: string,
): Promise<StormReport> {
  const plan: DriverPlan = {
    machines: planMachines(o, stack.name === "automagic"),
    expected: { ...image.expected, installSeconds: o.installSeconds, iface: stack.net.clientIf },
    route: ROUTE,
  };
  const planFile = join(dir, `plan-${stack.name}-${o.n}.json`);
  writeFileSync(planFile, JSON.stringify(plan));
  const samples: Sampled[] = [await stack.sample()];
  const idle = samples[0]!;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await new Promise((r) => setTimeout(r, 1000));
      samples.push(await stack.sample());
    }
  })();
  const proc = nsExec(stack.net.client, process.execPath, ["--import", "tsx", DRIVER, planFile], {
    cwd: REPO,
    reject: false,
    timeout: (o.spreadMs + o.installSeconds * 1000 + 600_000) * 1,
  });
  const r = await proc;
  sampling = false;
  await sampler;
  if (r.exitCode !== 0)
    throw new Error(
      `storm driver (${stack.name}, N=${o.n}) exited ${r.exitCode}: ${String(r.stderr)}`,
    );
  const out = JSON.parse(String(r.stdout)) as { results: MachineResult[]; strayDhcp: number };
  writeFileSync(join(dir, `results-${stack.name}-${o.n}.json`), JSON.stringify(out.results));
  return summarize(stack.name, o, out.results, {
    idle,
    samples,
    stateBytes: stack.stateBytes(),
    tally: await stack.tally(),
    strayDhcp: out.strayDhcp,
  });
}
