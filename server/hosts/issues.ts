// Turning zod issues into automagic's "file: path: reason" lines.
import type { z } from "zod";
import { formatPath } from "../../payload/spec/schema.ts";
import type { Issue } from "./checks.ts";

/** One Issue per problem, with zod's wording made shorter and path-centred. */
export function fromZod(error: z.ZodError, input: unknown): Issue[] {
  const out: Issue[] = [];
  for (const iss of error.issues) {
    const path = iss.path.map((p) => (typeof p === "number" ? p : String(p)));
    if (iss.code === "unrecognized_keys") {
      for (const key of iss.keys) out.push({ path: [...path, key], message: "unknown field" });
    } else if (path.length > 0 && valueAt(input, path) === undefined) {
      // zod words a missing enum or union differently from a missing string.
      out.push({ path, message: "required" });
    } else if (iss.code === "invalid_key") {
      const why = iss.issues[0]?.message ?? "not an allowed key";
      out.push({ path, message: why });
    } else {
      out.push({ path, message: iss.message.replace(/^Invalid (input|option): /, "") });
    }
  }
  return out;
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let v = data;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

export function formatIssue(file: string, issue: Issue): string {
  return `${file}: ${formatPath(issue.path)}: ${issue.message}`;
}
