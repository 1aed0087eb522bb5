// Golden files: compare with the stored text; UPDATE_GOLDEN=1 rewrites them.
// A missing golden file fails (it is never created silently by a normal run).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import assert from "node:assert/strict";

const ROOT = resolve(import.meta.dirname, "../../..");

export function assertGolden(rel: string, actual: string): void {
  const path = resolve(ROOT, rel);
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(
    existsSync(path),
    `golden file ${rel} is missing (run with UPDATE_GOLDEN=1 to create it)`,
  );
  assert.equal(actual, readFileSync(path, "utf8"), `output differs from ${rel}`);
}

export function readJson<T = unknown>(rel: string): T {
  return JSON.parse(readFileSync(resolve(ROOT, rel), "utf8")) as T;
}
