// The command runner every step uses: real subprocesses through execa, or a
// recording fake in unit tests (test/fakes/). A failure is a CommandError
// (shared/command-error.ts) that carries what a report needs: the command, how
// it ended (exit code, signal, timeout) and the tail of stderr and stdout.
import type { Readable } from "node:stream";
import { execa } from "execa";
import { commandErrorFrom } from "../../shared/command-error.ts";

export interface RunOptions {
  input?: string;
  /** Streamed to stdin (a stage3 on its way to tar). */
  inputStream?: NodeJS.ReadableStream;
  env?: Record<string, string>;
  cwd?: string;
  /** Each stdout/stderr line as it arrives (console + log events). */
  onLine?: (line: string) => void;
  /** Killed (SIGTERM) after this long; the error says it timed out. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  run(cmd: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** The stage3's PATH and a clean locale, so chroot commands see a Gentoo environment. */
const CHROOT_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LC_ALL: "C.UTF-8",
  HOME: "/root",
  TERM: "dumb",
};

export function execaRunner(): CommandRunner {
  return {
    async run(cmd, opts = {}) {
      const [file, ...args] = cmd;
      if (!file) throw new Error("run: empty command");
      const sub = execa(file, args, {
        reject: false,
        all: false,
        stripFinalNewline: false,
        ...(opts.inputStream
          ? { input: opts.inputStream as Readable }
          : opts.input !== undefined
            ? { input: opts.input }
            : { stdin: "ignore" as const }),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
        env: { ...(file === "chroot" ? CHROOT_ENV : {}), ...opts.env },
        extendEnv: file !== "chroot",
        ...(opts.onLine
          ? {
              stdout: ["pipe", linesTo(opts.onLine)],
              stderr: ["pipe", linesTo(opts.onLine)],
            }
          : {}),
      });
      const r = await sub;
      const failed = commandErrorFrom(cmd, r, opts.timeoutMs);
      if (failed) throw failed;
      return { stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
    },
  };
}

function linesTo(onLine: (l: string) => void) {
  return function* (line: unknown) {
    onLine(String(line));
    yield line;
  };
}

/** `chroot <target> cmd...` */
export const inChroot = (target: string, cmd: readonly string[]): string[] => [
  "chroot",
  target,
  ...cmd,
];
