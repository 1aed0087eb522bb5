// Password hashes kept out of the host repo. A host file may write
//   password: { secret: alice }
// and the hash comes from a secrets file (default <hosts>/secrets.yaml,
// which hosts/.gitignore keeps out of git; AUTOMAGIC_SECRETS overrides the
// path). The file is a flat YAML mapping of name -> crypt(3) hash; a
// plaintext value there is refused like anywhere else.
import { cryptHashSchema } from "../../payload/spec/schema.ts";
import type { HostFile } from "./file-schema.ts";
import type { Issue } from "./checks.ts";

export type Secrets = ReadonlyMap<string, string>;

/** Validates a parsed secrets document; returns the map and per-key issues. */
export function parseSecrets(doc: unknown): { secrets: Map<string, string>; issues: Issue[] } {
  const secrets = new Map<string, string>();
  const issues: Issue[] = [];
  if (doc === null || doc === undefined) return { secrets, issues };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    return { secrets, issues: [{ path: [], message: "must be a mapping of name: crypt-hash" }] };
  }
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v === "string" && cryptHashSchema.safeParse(v).success) secrets.set(k, v);
    else issues.push({ path: [k], message: "is not a crypt(3) hash (plaintext is refused)" });
  }
  return { secrets, issues };
}

/** Replaces { secret } references with their hashes; a missing name is an issue. */
export function resolveSecrets(
  host: HostFile,
  secrets: Secrets,
  secretsFile: string,
): { host: HostFile; issues: Issue[] } {
  const issues: Issue[] = [];
  const users = host.users?.map((u, i) => {
    if (typeof u.password === "string") return u;
    const hash = secrets.get(u.password.secret);
    if (hash === undefined) {
      issues.push({
        path: ["users", i, "password", "secret"],
        message: `"${u.password.secret}" is not in ${secretsFile}`,
      });
      return u;
    }
    return { ...u, password: hash };
  });
  return { host: users ? { ...host, users } : host, issues };
}
