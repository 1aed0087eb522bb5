// The fixture mirror's throwaway signing key and Gentoo-shaped signed files.
// Renderers are pure; gpg runs only in the functions that say so.
import { mkdir, readFile, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

export interface TestKey {
  /** GNUPGHOME that holds the secret key (outside the served tree). */
  home: string;
  /** Primary key fingerprint: what tests pin. Signing is done by a subkey, like Gentoo's. */
  fingerprint: string;
}

const GPG = ["--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""];

/** Creates a fresh key: an ed25519 certify-only primary and an ed25519 signing subkey. */
export async function generateTestKey(home: string, uid: string): Promise<TestKey> {
  await mkdir(home, { recursive: true });
  await chmod(home, 0o700);
  const g = (...args: string[]) => execa("gpg", ["--homedir", home, ...GPG, ...args]);
  await g("--quick-gen-key", uid, "ed25519", "cert", "never");
  const { stdout } = await g("--with-colons", "--list-secret-keys", uid);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1];
  if (!fpr) throw new Error(`gpg --list-secret-keys ${uid}: no fingerprint in output`);
  await g("--quick-add-key", fpr, "ed25519", "sign", "never");
  return { home, fingerprint: fpr };
}

export async function exportPublicKey(key: TestKey, dest: string): Promise<void> {
  const { stdout } = await execa("gpg", [
    "--homedir",
    key.home,
    ...GPG,
    "--armor",
    "--export",
    key.fingerprint,
  ]);
  await writeFile(dest, `${stdout}\n`);
}

/** Writes `<file>.asc` (or `sigPath`): a detached armored signature, as Gentoo publishes. */
export async function signDetached(
  key: TestKey,
  file: string,
  sigPath = `${file}.asc`,
): Promise<void> {
  await execa("gpg", [
    "--homedir",
    key.home,
    ...GPG,
    "--yes",
    "--local-user",
    key.fingerprint,
    "--armor",
    "--detach-sign",
    "--output",
    sigPath,
    file,
  ]);
}

/** Clearsigns `text` into `dest`. */
export async function clearsign(key: TestKey, text: string, dest: string): Promise<void> {
  const plain = `${dest}.plain`;
  await writeFile(plain, text);
  await execa("gpg", [
    "--homedir",
    key.home,
    ...GPG,
    "--yes",
    "--local-user",
    key.fingerprint,
    "--digest-algo",
    "SHA512",
    "--clearsign",
    "--output",
    dest,
    plain,
  ]);
  await execa("rm", ["-f", plain]);
}

/** Gentoo's pointer format (releng copy_buildsync.sh). */
export function renderPointer(path: string, size: number, when: Date): string {
  const date = when.toUTCString().replace("GMT", "+0000");
  return `# Latest as of ${date}\n# ts=${Math.floor(when.getTime() / 1000)}\n${path} ${size}\n`;
}

/** Gentoo's current .DIGESTS body: a BLAKE2B block then a SHA512 block. */
export function renderDigests(
  files: ReadonlyArray<{ name: string; sha512: string; blake2b: string }>,
): string {
  const block = (algo: string, pick: (f: { sha512: string; blake2b: string }) => string) =>
    `# ${algo} HASH\n${files.map((f) => `${pick(f)}  ${f.name}\n`).join("")}`;
  return block("BLAKE2B", (f) => f.blake2b) + block("SHA512", (f) => f.sha512);
}

/** Reads the fingerprint a previous build recorded. */
export async function readFingerprint(outDir: string): Promise<string> {
  return (await readFile(join(outDir, "TEST-KEY-FPR"), "utf8")).trim();
}

/** `20261127T095300Z`, Gentoo's build stamp. */
export function buildStamp(when: Date): string {
  return when
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}
