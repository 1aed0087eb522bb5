// --token-file: the token of a run started over ssh (automagic reinstall
// --via ssh writes it 0600 beside the payload), never on a command line where
// `ps` shows it to every user.
import { readFileSync, statSync } from "node:fs";

/** The token of a run started over ssh: a private file, so no other user saw it. */
export function readTokenFile(file: string): string {
  const st = statSync(file);
  if (!st.isFile()) throw new Error(`--token-file ${file}: not a regular file`);
  if ((st.mode & 0o077) !== 0)
    throw new Error(
      `--token-file ${file}: mode ${(st.mode & 0o777).toString(8)}, expected 600 (others could read the token)`,
    );
  const token = readFileSync(file, "utf8").trim();
  if (!token) throw new Error(`--token-file ${file}: empty`);
  return token;
}
