// Pure: which users get their real login shell once the packages are in.
// Phase 1 gives a user /bin/bash while the shell's file is not in the new
// root yet (render/accounts.ts); the passwd entry says what they have now,
// so a second run changes nothing.
import { parsePasswd } from "../keep/accounts.ts";
import type { InstallSpec } from "../spec/schema.ts";

export interface ShellChange {
  user: string;
  /** users[i] in the spec, for messages. */
  index: number;
  shell: string;
  argv: string[];
}

export function planShells(spec: Pick<InstallSpec, "users">, passwd: string): ShellChange[] {
  const entries = parsePasswd(passwd, "/etc/passwd");
  return spec.users.flatMap((u, index) => {
    const e = entries.find((p) => p.name === u.name);
    if (!e || e.shell === u.shell) return [];
    return [{ user: u.name, index, shell: u.shell, argv: ["usermod", "--shell", u.shell, u.name] }];
  });
}
