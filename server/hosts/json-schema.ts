// JSON Schema of host files, for editors (yaml-language-server reads the
// `# yaml-language-server: $schema=host.schema.json` line in each example).
// A host file is one layer of several (defaults.yaml, extends), so no field
// is required here: the editor catches unknown fields, wrong types and enum
// typos; completeness and cross-field rules are `automagic hosts validate`'s.
import { z } from "zod";
import { hostFileSchema } from "./file-schema.ts";

export const SCHEMA_FILE = "host.schema.json";

export function hostFileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(hostFileSchema, { io: "input", unrepresentable: "any" });
  const out = dropRequired(schema) as Record<string, unknown>;
  return {
    ...out,
    title: "automagic host file",
    description: "hosts/<name>.yaml, hosts/defaults.yaml or an `extends:` partial",
  };
}

function dropRequired(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropRequired);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "required" && Array.isArray(x)) {
      // Keep discriminators so editors can still pick the right branch.
      const kept = x.filter((r) => r === "mode");
      if (kept.length > 0) out[k] = kept;
    } else out[k] = dropRequired(x);
  }
  return out;
}

export function renderJsonSchema(): string {
  return `${JSON.stringify(hostFileJsonSchema(), null, 2)}\n`;
}
