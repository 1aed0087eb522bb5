// Content hashes for cache keys and the manifest.
import { readFile } from "node:fs/promises";
import { sha256 } from "../shared/hash.ts";

/** Pure: sha256 hex of a canonical JSON rendering (object keys sorted). */
export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of several source files' contents (the builder's own recipe as a cache input). */
export async function hashSources(paths: readonly string[]): Promise<string> {
  const parts: Array<string | Buffer> = [];
  for (const p of [...paths].sort()) parts.push(p, await readFile(p));
  return sha256(...parts);
}
