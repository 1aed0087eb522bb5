// The cache's size decision (server/mirror/budget.ts): which cached units go
// so a new one fits, and when it cannot fit at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeRoom, type CachedUnit } from "../../../server/mirror/budget.ts";

const MiB = 1 << 20;
const unit = (key: string, mib: number, lastServedMs: number, more: Partial<CachedUnit> = {}) => ({
  key,
  bytes: mib * MiB,
  lastServedMs,
  inUse: false,
  serving: false,
  ...more,
});

test("budget: a unit that fits evicts nothing", () => {
  assert.deepEqual(makeRoom([unit("a", 10, 1), unit("b", 10, 2)], 30 * MiB, 50 * MiB), {
    ok: true,
    evict: [],
  });
});

test("budget: least recently served unused units go first, only as many as needed", () => {
  const r = makeRoom(
    [
      unit("new-but-unused", 30, 300),
      unit("oldest", 30, 100),
      unit("in-use", 30, 50, { inUse: true }),
      unit("older", 30, 200),
    ],
    60 * MiB,
    150 * MiB,
  );
  // 120 cached + 60 new = 180 > 150: freeing 30 is enough, and "oldest" is the least recently served.
  assert.deepEqual(r.ok && r.evict.map((u) => u.key), ["oldest"]);
  const r2 = makeRoom(
    [unit("c", 30, 300), unit("a", 30, 100), unit("b", 30, 200)],
    60 * MiB,
    100 * MiB,
  );
  assert.deepEqual(r2.ok && r2.evict.map((u) => u.key), ["a", "b"]);
});

test("budget: in use by a host file or being served is never evicted; what cannot fit is refused with the numbers", () => {
  const r = makeRoom(
    [
      unit("stage3 in use", 60, 1, { inUse: true }),
      unit("old build being served", 30, 2, { serving: true }),
      unit("gpkg", 5, 3),
    ],
    40 * MiB,
    100 * MiB,
  );
  assert.equal(r.ok, false);
  assert.equal(
    !r.ok && r.reason,
    "40.0 MiB does not fit under the cache limit of 100.0 MiB: 95.0 MiB cached, 90.0 MiB of it in use by host files or being served",
  );
});

test("budget: a unit larger than the whole limit is refused even on an empty cache", () => {
  const r = makeRoom([], 2 * 1024 * MiB, 1024 * MiB);
  assert.equal(
    !r.ok && r.reason,
    "2.00 GiB does not fit under the cache limit of 1.00 GiB: 0 B cached, 0 B of it in use by host files or being served",
  );
});
