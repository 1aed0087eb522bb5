// automagic-install --action discover: report what this machine is, touch
// nothing. The server says what follows (GET .../discover); the inventory
// (collect.ts) goes to POST .../inventory with the run's token; then the
// machine powers off or reboots to its disk, but only when it was netbooted
// by automagic (a test or a person running it by hand keeps their machine).
import type { CommandRunner } from "../run/runner.ts";
import { openRunChannel } from "../run/channel.ts";
import { discoverOrderSchema, inventorySchema, inventorySummary } from "../spec/inventory.ts";
import { issueLines } from "../spec/schema.ts";
import { collectInventory } from "./collect.ts";

export interface DiscoverOptions {
  server: string;
  token: string;
  devices?: string[];
  /** Power off / reboot as the server says (only when netbooted by automagic). */
  power: boolean;
  scratch?: string;
  runner?: CommandRunner;
  fetch?: typeof fetch;
  write?: (line: string) => void;
}

/** Exit code: 0 reported, 1 failed (the run is failed on the server with the reason). */
export async function runDiscover(o: DiscoverOptions): Promise<number> {
  const { f, runner, base, reporter } = openRunChannel(o);
  reporter.emit({ kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START" });
  let then: "poweroff" | "reboot" = "poweroff";
  try {
    const res = await f(`${base}/discover`);
    if (!res.ok) throw new Error(`GET ${base}/discover: HTTP ${res.status} ${await res.text()}`);
    const order = discoverOrderSchema.parse(await res.json());
    then = order.then;
    reporter.emit({
      kind: "step-start",
      step: "inventory",
      message: "firmware, CPU, memory, disks (read-only), NICs, kernel log",
    });
    const inv = await collectInventory({
      runner,
      scratch: o.scratch ?? "/run/automagic",
      ...(o.devices ? { devices: o.devices } : {}),
      netbootMac: order.mac,
    });
    const checked = inventorySchema.safeParse(inv);
    if (!checked.success) throw new Error(issueLines(checked.error, "inventory").join("; "));
    const sent = await f(`${base}/inventory`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(checked.data),
    });
    if (!sent.ok)
      throw new Error(`POST ${base}/inventory: HTTP ${sent.status} ${await sent.text()}`);
    for (const p of inv.problems)
      reporter.emit({ kind: "log", step: "inventory", message: p.message });
    reporter.emit({ kind: "step-end", step: "inventory", message: inventorySummary(inv) });
    reporter.emit({
      kind: "run-done",
      step: "discover",
      message: `inventory stored: ${inventorySummary(inv)}; ${then === "reboot" ? "rebooting to the disk" : "powering off"}`,
      summary: {
        action: "discover",
        disks: inv.disks.length,
        nics: inv.nics.length,
        problems: inv.problems.length,
        then,
      },
    });
    await reporter.flush();
  } catch (err) {
    reporter.emit({ kind: "step-fail", step: "inventory", message: (err as Error).message });
    await reporter.flush();
    return 1;
  }
  if (o.power) {
    o.write?.(`automagic-install: inventory stored; ${then}`);
    await runner.run([then]);
  }
  return 0;
}
