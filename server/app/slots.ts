// Pure: a host's two root slots (layout ab) as its runs reported them. Phase 1
// names the slot it wrote in its phase-done summary; phase 2 names the slot it
// runs from and confirms it (it becomes GRUB's default); a run whose phase 2
// failed leaves its slot unconfirmed with the reason, and the machine boots the
// default slot again.
import type { StoredEvent } from "../state/store.ts";

export type SlotName = "a" | "b";

export interface SlotView {
  /** What the slot holds: the run's action (install, deploy:<image>). */
  holds?: string;
  run?: number;
  installedAt?: string;
  confirmedAt?: string;
  /** Why the slot was not confirmed (its run failed after writing it). */
  failed?: string;
}

export interface AbSlots {
  /** The confirmed slot GRUB boots, when one was confirmed. */
  default?: SlotName;
  a: SlotView;
  b: SlotView;
}

const slotOf = (s: unknown): SlotName | undefined => {
  const v = (s as { slot?: unknown } | undefined)?.slot;
  return v === "a" || v === "b" ? v : undefined;
};

/** Events oldest first; `actionOf` names a run's action. Undefined when no run ever wrote a slot. */
export function abSlots(
  events: readonly StoredEvent[],
  actionOf: (run: number) => string | undefined,
): AbSlots | undefined {
  const out: AbSlots = { a: {}, b: {} };
  const written = new Map<number, SlotName>();
  let any = false;
  for (const e of events) {
    const ev = e.event;
    const at = new Date(e.receivedAt).toISOString();
    const slot = slotOf(ev.summary);
    if (ev.phase === 1 && ev.kind === "phase-done" && slot) {
      any = true;
      written.set(e.runId, slot);
      const holds = actionOf(e.runId);
      out[slot] = { ...(holds ? { holds } : {}), run: e.runId, installedAt: at };
    } else if (ev.phase === 2 && slot && (ev.kind === "phase-done" || ev.kind === "run-done")) {
      const confirmed = (ev.summary as { confirmed?: unknown } | undefined)?.confirmed === true;
      if (confirmed && out[slot].run === e.runId) {
        out.default = slot;
        out[slot].confirmedAt = at;
      }
    } else if (ev.phase === 2 && ev.kind === "step-fail") {
      const w = written.get(e.runId);
      if (w && out[w].run === e.runId && !out[w].confirmedAt)
        out[w].failed = ev.message ?? `phase 2 failed at ${ev.step ?? "?"}`;
    }
  }
  return any ? out : undefined;
}

/** "slot a (default): install, run 3, installed ..., confirmed ..." — one line per slot. */
export function formatSlots(host: string, s: AbSlots): string {
  const line = (name: SlotName) => {
    const v = s[name];
    const head = `${host}: slot ${name}${s.default === name ? " (default)" : ""}`;
    if (!v.run) return `${head}: empty`;
    const parts = [
      v.holds ?? "?",
      `run ${v.run}`,
      `installed ${v.installedAt}`,
      v.confirmedAt ? `confirmed ${v.confirmedAt}` : "not confirmed",
    ];
    return `${head}: ${parts.join(", ")}${v.failed ? `; failed: ${v.failed}` : ""}`;
  };
  return `${line("a")}\n${line("b")}\n`;
}
