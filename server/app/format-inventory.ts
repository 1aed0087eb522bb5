// `automagic inventory HOST`: the hardware a discover run reported, as text.
// Pure; the lines are the draft host file's comments (server/hosts/draft.ts).
import type { Inventory } from "../../payload/spec/inventory.ts";
import { describeInventory } from "../hosts/draft.ts";

/** What GET /api/v1/admin/hosts/:name/inventory answers. */
export interface StoredInventory {
  host?: string;
  macs: string[];
  runId?: number;
  reportedAt: string;
  inventory: Inventory;
}

export function formatInventory(asked: string, r: StoredInventory): string {
  const who = r.host ?? `${asked} (no host file yet: automagic hosts draft ${asked})`;
  const run = r.runId !== undefined ? `run ${r.runId}, ` : "";
  return [`${who}: ${run}reported ${r.reportedAt}`, ...describeInventory(r.inventory), ""].join(
    "\n",
  );
}
