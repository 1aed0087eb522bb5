import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSysImages } from "../../../server/app/format.ts";

test("formatSysImages: one row per image, size in MiB, short hash; an empty list says what to do", () => {
  assert.equal(formatSysImages([]), "no system images (arm `capture` on an installed host)\n");
  const text = formatSysImages([
    {
      name: "web1-20261127T170509Z",
      host: "web1",
      run: 3,
      bytes: 192 * 2 ** 20,
      sha256: "ab".repeat(32),
      created: "2026-11-27T17:05:30.000Z",
      source: {},
    },
  ]);
  const [head, row] = text.trimEnd().split("\n");
  assert.match(head!, /^NAME\s+HOST\s+CREATED\s+MIB\s+SHA256$/);
  assert.match(
    row!,
    /^web1-20261127T170509Z\s+web1\s+2026-11-27T17:05:30\.000Z\s+192\.0\s+abababababababab…$/,
  );
});
