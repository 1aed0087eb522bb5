// The storm's machines, run as one process inside the client namespace
// (started by storm/run.ts): reads the plan, powers every machine on at its
// time, prints one JSON object with every machine's result. Nothing here
// reaches past the namespace's veth.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { StormDhcp } from "./dhcp-client.ts";
import { walk, type Expected, type MachinePlan, type MachineResult } from "./machine.ts";

export interface DriverPlan {
  machines: MachinePlan[];
  expected: Expected;
  /** The served subnet, routed out of the client's veth (the machines hold /32s). */
  route: string;
}

const plan = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as DriverPlan;
execFileSync("ip", ["route", "replace", plan.route, "dev", plan.expected.iface]);
// Machines without an address broadcast; the limited broadcast needs a route out of the veth.
execFileSync("ip", ["route", "replace", "255.255.255.255/32", "dev", plan.expected.iface]);
const dhcp = new StormDhcp();
await dhcp.open();
const t0 = Date.now();
const results: MachineResult[] = await Promise.all(
  plan.machines.map(
    (m) =>
      new Promise<MachineResult>((resolve) =>
        setTimeout(() => resolve(walk(m, dhcp, plan.expected, t0)), m.at),
      ),
  ),
);
dhcp.close();
process.stdout.write(`${JSON.stringify({ results, strayDhcp: dhcp.stray })}\n`);
