// Tests never skip silently for a missing tool: they fail and name it, and
// bin/setup-debian is where it gets installed.
import { execFileSync } from "node:child_process";

const found = new Map<string, string>();

/** Absolute path of `tool`, or throws naming the tool and the set-up script. */
export function requireTool(tool: string): string {
  const cached = found.get(tool);
  if (cached) return cached;
  let path = "";
  try {
    path = execFileSync("bash", ["-c", `command -v -- "$1"`, "_", tool], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` },
    }).trim();
  } catch {
    path = "";
  }
  if (!path) {
    throw new Error(`required tool '${tool}' is not installed (bin/setup-debian installs it)`);
  }
  found.set(tool, path);
  return path;
}
