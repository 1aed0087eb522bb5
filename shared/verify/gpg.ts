// Thin I/O around gpg: a throwaway GNUPGHOME holding only the public keys we
// were given, verification with --status-file, and the decision made by
// acceptSignature() on the status lines. The user's own keyring is never read.
import { mkdtemp, readFile, rm, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { execa } from "execa";
import { commandErrorFrom } from "../command-error.ts";
import { acceptSignature, parseGpgStatus, type GpgStatus } from "./gpg-status.ts";

/** A verification that did not pass; names the file and keeps gpg's status text. */
export class SignatureError extends Error {
  readonly file: string;
  readonly status: GpgStatus | undefined;
  constructor(file: string, reason: string, status?: GpgStatus, options?: ErrorOptions) {
    super(`${file}: signature rejected: ${reason}`, options);
    this.name = "SignatureError";
    this.file = file;
    this.status = status;
  }
}

export interface VerifiedSignature {
  /** Pinned primary key that vouches for the data. */
  primaryFingerprint: string;
  /** Key (usually a subkey) that made the signature. */
  signingFingerprint: string;
  created?: number;
}

export interface Keyring {
  readonly home: string;
  /** Verifies a detached signature (`.asc`, `.gpgsig`) over `dataPath`. */
  verifyDetached(sigPath: string, dataPath: string): Promise<VerifiedSignature>;
  /**
   * Starts verifying a detached signature over data that is still arriving:
   * write the data to `input` (e.g. through a ByteTee), end it, await `result`.
   */
  startDetachedVerify(
    sigPath: string,
    label: string,
  ): { input: Writable; result: Promise<VerifiedSignature> };
  /** Verifies a clearsigned file; `text` is what gpg says was signed (dash-unescaped). */
  verifyClearsigned(path: string): Promise<VerifiedSignature & { text: string }>;
  dispose(): Promise<void>;
}

const BASE_ARGS = [
  "--batch",
  "--no-tty",
  "--no-autostart",
  "--no-auto-key-retrieve",
  "--no-permission-warning",
];

/**
 * Creates a temporary GNUPGHOME, imports `keyFiles` (armored or binary public
 * keys) and returns a keyring that accepts only signatures whose VALIDSIG
 * primary key is one of `trustedKeys`. Call dispose() when done.
 */
export async function openKeyring(
  keyFiles: readonly string[],
  trustedKeys: readonly string[],
): Promise<Keyring> {
  const home = await mkdtemp(join(tmpdir(), "automagic-gpg-"));
  await chmod(home, 0o700);
  try {
    for (const f of keyFiles) {
      const argv = ["gpg", "--homedir", home, ...BASE_ARGS, "--import", f];
      const failed = commandErrorFrom(
        argv,
        await execa(argv[0]!, argv.slice(1), { reject: false }),
      );
      if (failed) throw failed;
    }
  } catch (err) {
    await rm(home, { recursive: true, force: true });
    throw err;
  }
  let seq = 0;

  async function run(
    file: string,
    args: string[],
  ): Promise<{ status: GpgStatus; exitCode: number; stderr: string }> {
    const statusFile = join(home, `status-${++seq}`);
    let r;
    try {
      r = await execa(
        "gpg",
        ["--homedir", home, ...BASE_ARGS, "--status-file", statusFile, ...args],
        { reject: false },
      );
    } catch (err) {
      throw new SignatureError(file, "could not run gpg", undefined, { cause: err });
    }
    const text = await readFile(statusFile, "utf8").catch(() => "");
    return { status: parseGpgStatus(text), exitCode: r.exitCode ?? -1, stderr: r.stderr };
  }

  function decide(
    file: string,
    res: { status: GpgStatus; exitCode: number; stderr: string },
  ): VerifiedSignature {
    const d = acceptSignature(res.status, trustedKeys);
    if (!d.ok) throw new SignatureError(file, d.reason, res.status);
    // Status lines decide; a non-zero exit on top of them is still a refusal.
    if (res.exitCode !== 0) {
      throw new SignatureError(
        file,
        `gpg exited ${res.exitCode}: ${res.stderr.trim().split("\n").slice(-2).join(" | ")}`,
        res.status,
      );
    }
    const { ok: _ok, ...sig } = d;
    return sig;
  }

  return {
    home,
    async verifyDetached(sigPath, dataPath) {
      return decide(dataPath, await run(dataPath, ["--verify", sigPath, dataPath]));
    },
    startDetachedVerify(sigPath, label) {
      const statusFile = join(home, `status-${++seq}`);
      const sub = execa(
        "gpg",
        ["--homedir", home, ...BASE_ARGS, "--status-file", statusFile, "--verify", sigPath, "-"],
        {
          reject: false,
          stdin: "pipe",
        },
      );
      const result = sub.then(async (r) => {
        const text = await readFile(statusFile, "utf8").catch(() => "");
        return decide(label, {
          status: parseGpgStatus(text),
          exitCode: r.exitCode ?? -1,
          stderr: r.stderr,
        });
      });
      if (!sub.stdin) throw new Error("gpg: no stdin pipe");
      return { input: sub.stdin, result };
    },
    async verifyClearsigned(path) {
      const out = join(home, `out-${++seq}`); // own number: calls may overlap
      const res = await run(path, ["--output", out, "--decrypt", path]);
      const sig = decide(path, res);
      const text = await readFile(out, "utf8");
      await rm(out, { force: true });
      return { ...sig, text };
    },
    async dispose() {
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Opens a keyring, runs `fn`, and always removes the temporary GNUPGHOME. */
export async function withKeyring<T>(
  keyFiles: readonly string[],
  trustedKeys: readonly string[],
  fn: (k: Keyring) => Promise<T>,
): Promise<T> {
  const k = await openKeyring(keyFiles, trustedKeys);
  try {
    return await fn(k);
  } finally {
    await k.dispose();
  }
}
