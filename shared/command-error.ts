// What a failed subprocess tells you, the one format for server, payload and
// image-builder (execa's): "Command failed with exit code N: <command>" (or
// "was killed with SIGTERM", "timed out after N milliseconds", "failed: why it
// did not start"), then the tail of stderr and of stdout; the original error
// or result stays as `cause`.

/** How much of each stream a failure keeps: its end, where the error is. */
export const OUTPUT_TAIL = 8 * 1024;

/** The last `max` characters of `s`, trailing whitespace trimmed. */
export const tail = (s: string, max = OUTPUT_TAIL): string =>
  (s.length > max ? s.slice(-max) : s).trimEnd();

/** Quoted for humans (reports, logs); never passed to a shell. */
export const showCommand = (cmd: readonly string[]): string =>
  cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");

/** How a command ended, as far as it is known. */
export interface CommandOutcome {
  exitCode?: number | undefined;
  /** The signal that killed it (SIGKILL, SIGTERM, ...). */
  signal?: string | undefined;
  timedOut?: boolean | undefined;
  /** The timeout it ran under, for the "timed out" line. */
  timeoutMs?: number | undefined;
  /** Why it did not run at all (spawn ENOENT, EACCES). */
  reason?: string | undefined;
  stdout?: string | undefined;
  stderr?: string | undefined;
}

/** Pure: the first line, most specific cause first (a timeout also ends in a signal). */
export function commandHeadline(command: string, o: CommandOutcome): string {
  if (o.timedOut)
    return `Command timed out${o.timeoutMs === undefined ? "" : ` after ${o.timeoutMs} milliseconds`}: ${command}`;
  if (o.signal) return `Command was killed with ${o.signal}: ${command}`;
  if (o.exitCode !== undefined) return `Command failed with exit code ${o.exitCode}: ${command}`;
  return `Command failed: ${command}`;
}

export interface CommandErrorOptions {
  cause?: unknown;
  signal?: string | undefined;
  timedOut?: boolean | undefined;
  timeoutMs?: number | undefined;
  reason?: string | undefined;
  stdoutTail?: string | undefined;
}

export class CommandError extends Error {
  readonly signal: string | undefined;
  readonly timedOut: boolean;
  readonly stdoutTail: string;

  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderrTail: string,
    options: CommandErrorOptions = {},
  ) {
    const { cause, signal, timedOut, timeoutMs, reason, stdoutTail = "" } = options;
    const head = commandHeadline(command, { exitCode, signal, timedOut, timeoutMs });
    super(
      [head, reason, stderrTail, stdoutTail].filter(Boolean).join("\n\n"),
      cause === undefined ? undefined : { cause },
    );
    this.name = "CommandError";
    this.signal = signal;
    this.timedOut = timedOut ?? false;
    this.stdoutTail = stdoutTail;
  }

  /** Both streams' tails (stderr first), for a report's one output field. */
  get output(): string {
    return [this.stderrTail, this.stdoutTail].filter(Boolean).join("\n");
  }
}

/** What execa (reject: false) returns; only the fields a failure needs. */
export interface ExecaLikeResult {
  exitCode?: number | undefined;
  signal?: string | undefined;
  timedOut?: boolean | undefined;
  failed?: boolean | undefined;
  originalMessage?: string | undefined;
  stdout?: unknown;
  stderr?: unknown;
  all?: unknown;
}

const text = (v: unknown): string =>
  v === undefined || v === null ? "" : Array.isArray(v) ? v.join("\n") : String(v);

/**
 * The CommandError for a finished subprocess, or undefined when it succeeded.
 * `all` (stdout and stderr interleaved), when the caller asked execa for it,
 * is kept instead of the two streams.
 */
export function commandErrorFrom(
  cmd: readonly string[],
  r: ExecaLikeResult,
  timeoutMs?: number,
): CommandError | undefined {
  if (r.exitCode === 0 && !r.failed) return undefined;
  const exited = r.exitCode !== undefined || r.signal !== undefined || r.timedOut;
  // `all` already holds stderr: it is the one output then.
  const [stderr, stdout] = r.all !== undefined ? [r.all, ""] : [r.stderr, r.stdout];
  return new CommandError(showCommand(cmd), r.exitCode, tail(text(stderr)), {
    cause: r,
    signal: r.signal,
    timedOut: r.timedOut,
    timeoutMs,
    reason: exited ? undefined : r.originalMessage,
    stdoutTail: tail(text(stdout)),
  });
}

/** The CommandError behind `err`, following `cause` (a step wraps what its command threw). */
export function findCommandError(err: unknown): CommandError | undefined {
  for (let e = err, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof CommandError) return e;
  }
  return undefined;
}
