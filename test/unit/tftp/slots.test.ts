import assert from "node:assert/strict";
import { test } from "node:test";
import { Slots } from "../../../server/tftp/slots.ts";

test("an address gets at most perAddress slots; others are unaffected", () => {
  const slots = new Slots<number>({ total: 10, perAddress: 2 });
  slots.add("10.0.0.5:1000", "10.0.0.5", 1);
  assert.equal(slots.refusal("10.0.0.5"), undefined);
  slots.add("10.0.0.5:1001", "10.0.0.5", 2);
  assert.equal(slots.refusal("10.0.0.5"), "too many transfers from your address");
  assert.equal(slots.refusal("10.0.0.6"), undefined);
  assert.equal(slots.delete("10.0.0.5:1000"), 1);
  assert.equal(slots.refusal("10.0.0.5"), undefined);
  assert.equal(slots.delete("10.0.0.5:1000"), undefined, "freeing twice is a no-op");
  assert.equal(slots.size, 1);
});

test("the total bound applies across addresses", () => {
  const slots = new Slots<string>({ total: 2, perAddress: 8 });
  slots.add("a:1", "a", "x");
  slots.add("b:1", "b", "y");
  assert.equal(slots.refusal("c"), "server busy");
  assert.throws(() => slots.add("a:1", "a", "z"), /slot a:1 is taken/);
  assert.deepEqual(slots.clear(), ["x", "y"]);
  assert.equal(slots.refusal("a"), undefined);
  assert.equal(slots.has("a:1"), false);
});
