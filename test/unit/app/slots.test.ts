import { test } from "node:test";
import assert from "node:assert/strict";
import { abSlots, formatSlots } from "../../../server/app/slots.ts";
import type { StoredEvent } from "../../../server/state/store.ts";
import type { RunEvent } from "../../../payload/spec/events.ts";

let id = 0;
const ev = (
  runId: number,
  at: number,
  event: Partial<RunEvent> & Pick<RunEvent, "kind" | "phase">,
) =>
  ({
    id: ++id,
    runId,
    host: "ws",
    receivedAt: at,
    event: { time: new Date(at).toISOString(), ...event } as RunEvent,
  }) satisfies StoredEvent;

const actions: Record<number, string> = { 1: "install", 2: "deploy:ws-1", 3: "install" };
const actionOf = (r: number) => actions[r];

test("no run named a slot: no slot view", () => {
  assert.equal(
    abSlots([ev(1, 1000, { kind: "phase-done", phase: 1, summary: {} })], actionOf),
    undefined,
  );
});

test("install into a, confirmed; then a deploy into b, confirmed: b is the default, a still holds the install", () => {
  const s = abSlots(
    [
      ev(1, 1000, { kind: "phase-done", phase: 1, summary: { slot: "a" } }),
      ev(1, 2000, { kind: "run-done", phase: 2, summary: { slot: "a", confirmed: true } }),
      ev(2, 3000, { kind: "phase-done", phase: 1, summary: { slot: "b" } }),
      ev(2, 4000, { kind: "run-done", phase: 2, summary: { slot: "b", confirmed: true } }),
    ],
    actionOf,
  );
  assert.equal(s?.default, "b");
  assert.deepEqual(s?.a, {
    holds: "install",
    run: 1,
    installedAt: new Date(1000).toISOString(),
    confirmedAt: new Date(2000).toISOString(),
  });
  assert.equal(s?.b.holds, "deploy:ws-1");
  assert.equal(s?.b.confirmedAt, new Date(4000).toISOString());
});

test("a slot whose phase 2 failed stays unconfirmed with the reason; the default stays the old slot", () => {
  const s = abSlots(
    [
      ev(1, 1000, { kind: "phase-done", phase: 1, summary: { slot: "a" } }),
      ev(1, 2000, { kind: "phase-done", phase: 2, summary: { slot: "a", confirmed: true } }),
      ev(3, 3000, { kind: "phase-done", phase: 1, summary: { slot: "b" } }),
      ev(3, 4000, {
        kind: "step-fail",
        phase: 2,
        step: "packages",
        message: "emerge: no ebuild for app-misc/nope",
      }),
    ],
    actionOf,
  )!;
  assert.equal(s.default, "a");
  assert.equal(s.b.confirmedAt, undefined);
  assert.equal(s.b.failed, "emerge: no ebuild for app-misc/nope");
  const text = formatSlots("ws", s);
  assert.match(text, /^ws: slot a \(default\): install, run 1, installed .*, confirmed /m);
  assert.match(text, /^ws: slot b: install, run 3, .*not confirmed; failed: emerge: no ebuild/m);
});

test("a confirmation from another run than the one that wrote the slot changes nothing", () => {
  const s = abSlots(
    [
      ev(1, 1000, { kind: "phase-done", phase: 1, summary: { slot: "a" } }),
      ev(2, 2000, { kind: "run-done", phase: 2, summary: { slot: "a", confirmed: true } }),
    ],
    actionOf,
  )!;
  assert.equal(s.default, undefined);
  assert.match(formatSlots("ws", s), /slot b: empty/);
});
