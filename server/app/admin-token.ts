// The admin token on disk: a configured adminTokenFile is checked before
// `serve` starts (a token other users can read, or a short one, is refused),
// and without one `serve` generates <stateDir>/admin-token, which the CLI on
// the same host finds through the server (server/http/admin-guard.ts).
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const MIN_TOKEN_LENGTH = 16;
export const STATE_TOKEN_NAME = "admin-token";

/** The token in `file`, or an error naming the file and the fix. */
export function readTokenFile(file: string): string {
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`${file}: cannot read the admin token file: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    throw new Error(
      `${file}: admin token file has mode ${octal}, so other users can read it; chmod 600 ${file}`,
    );
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `${file}: admin token is ${token.length} characters, at least ${MIN_TOKEN_LENGTH} are needed; ` +
        `make one with: openssl rand -base64 32 > ${file}`,
    );
  }
  return token;
}

/** <stateDir>/admin-token, made (mode 0600) on first use, then checked like a configured one. */
export function stateToken(stateDir: string): { token: string; file: string } {
  const file = join(stateDir, STATE_TOKEN_NAME);
  mkdirSync(stateDir, { recursive: true });
  try {
    writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new Error(`${file}: cannot create the admin token: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return { token: readTokenFile(file), file };
}

/** The token `serve` uses and the file it came from (absent for an inline adminToken). */
export function serveToken(
  cfg: { adminToken?: string; adminTokenFile?: string },
  stateDir: string,
): { adminToken: string; adminTokenFile?: string } {
  if (!cfg.adminToken) {
    const { token, file } = stateToken(stateDir);
    return { adminToken: token, adminTokenFile: file };
  }
  return cfg.adminTokenFile
    ? { adminToken: cfg.adminToken, adminTokenFile: resolve(cfg.adminTokenFile) }
    : { adminToken: cfg.adminToken };
}
