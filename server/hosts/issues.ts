// Turning zod issues into automagic's "file: path: reason" lines.
import type { z } from "zod";
import { formatPath } from "../../payload/spec/schema.ts";
import type { Issue } from "./checks.ts";

/** One Issue per problem, with zod's wording made shorter and path-centred. */
export function fromZod(error: z.ZodError): Issue[] {
  const out: Issue[] = [];
  for (const iss of error.issues) {
    const path = iss.path.map((p) => (typeof p === "number" ? p : String(p)));
    if (iss.code === "unrecognized_keys") {
      for (const key of iss.keys) out.push({ path: [...path, key], message: "unknown field" });
    } else if (iss.code === "invalid_type" && /received undefined$/.test(iss.message)) {
      out.push({ path, message: "required" });
    } else {
      out.push({ path, message: iss.message.replace(/^Invalid input: /, "") });
    }
  }
  return out;
}

export function formatIssue(file: string, issue: Issue): string {
  return `${file}: ${formatPath(issue.path)}: ${issue.message}`;
}
