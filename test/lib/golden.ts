// Golden files: compare with the stored text; UPDATE_GOLDEN=1 (exactly "1")
// rewrites them instead. A missing golden file fails: a normal run never
// creates one silently. Every golden test in the repo goes through here.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import assert from "node:assert/strict";

const ROOT = resolve(import.meta.dirname, "../..");

/** True when this run should rewrite the golden files. */
export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === "1";

/** `file`: absolute, or relative to the repository root. */
export function assertGolden(file: string, actual: string): void {
  const path = isAbsolute(file) ? file : resolve(ROOT, file);
  const rel = relative(ROOT, path);
  if (UPDATE_GOLDEN) {
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

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(isAbsolute(file) ? file : resolve(ROOT, file), "utf8")) as T;
}
