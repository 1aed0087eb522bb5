// The command runner every step uses: real subprocesses through execa, or a
// recording fake in unit tests (test/fakes/). A failure is a CommandError that
// carries what a report needs: the command, exit code and the stderr tail.
import type { Readable } from "node:stream";
import { execa } from "execa";

export interface RunOptions {
  input?: string;
  /** Streamed to stdin (a stage3 on its way to tar). */
  inputStream?: NodeJS.ReadableStream;
  env?: Record<string, string>;
  cwd?: string;
  /** Each stdout/stderr line as it arrives (console + log events). */
  onLine?: (line: string) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  run(cmd: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Command failed${exitCode === undefined ? "" : ` with exit code ${exitCode}`}: ${command}${stderrTail ? `\n${stderrTail}` : ""}`,
      options,
    );
    this.name = "CommandError";
  }
}

export const tail = (s: string, max = 4096): string =>
  (s.length > max ? s.slice(-max) : s).trimEnd();

/** Quoted for humans (reports, logs); never passed to a shell. */
export const showCommand = (cmd: readonly string[]): string =>
  cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");

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
      const stdout = String(r.stdout ?? "");
      const stderr = String(r.stderr ?? "");
      if (r.exitCode !== 0 || r.failed) {
        throw new CommandError(showCommand(cmd), r.exitCode, tail(stderr || stdout), { cause: r });
      }
      return { stdout, stderr };
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
