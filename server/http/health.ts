// GET /healthz: is each part of the server up? One check per component
// (DHCP, TFTP, HTTP, state store, mirror upstream); 200 when every needed
// one is up, 503 naming what is down and why. Every check answers from
// memory or one trivial query: nothing here reaches outside the process,
// so an unauthenticated caller can ask as often as it likes.
import type { StateStore } from "../state/store.ts";

/** up; down (needed or not); off: not configured, so not needed. */
export type ComponentState = "up" | "down" | "off";

export interface ComponentCheck {
  name: string;
  state: ComponentState;
  /** Down and needed turns /healthz into a 503. */
  needed: boolean;
  /** Why it is down or off, or what "up" rests on. */
  detail?: string;
}

export interface HealthReport {
  status: 200 | 503;
  body: {
    status: "ok" | "degraded" | "down";
    /** "<name>: <why>" for every component that is down. */
    down: string[];
    components: Record<string, Omit<ComponentCheck, "name">>;
  };
}

/** Pure: the answer for a set of checks. */
export function healthReport(checks: readonly ComponentCheck[]): HealthReport {
  const down = checks.filter((c) => c.state === "down");
  const fatal = down.some((c) => c.needed);
  const components: HealthReport["body"]["components"] = {};
  for (const { name, ...rest } of checks) components[name] = rest;
  return {
    status: fatal ? 503 : 200,
    body: {
      status: fatal ? "down" : down.length > 0 ? "degraded" : "ok",
      down: down.map((c) => `${c.name}: ${c.detail ?? "down"}`),
      components,
    },
  };
}

/** The state database answers a read (a closed or broken database throws). */
export function storeCheck(store: StateStore): ComponentCheck {
  try {
    store.db.prepare("SELECT id FROM runs ORDER BY id DESC LIMIT 1").get();
    return { name: "store", state: "up", needed: true };
  } catch (err) {
    return {
      name: "store",
      state: "down",
      needed: true,
      detail: `state database: ${(err as Error).message}`,
    };
  }
}

/** A check that throws is a bug, shown as that part down rather than a 500. */
export function runChecks(
  probes: ReadonlyArray<readonly [string, () => ComponentCheck | ComponentCheck[]]>,
): ComponentCheck[] {
  return probes.flatMap(([name, probe]) => {
    try {
      return probe();
    } catch (err) {
      return { name, state: "down", needed: true, detail: `check failed: ${String(err)}` };
    }
  });
}
