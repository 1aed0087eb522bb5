// Runs one emerge and turns its output into progress and, when it fails,
// into an error that names what was asked for and carries emerge's own
// reasons ("masked by: ~amd64 keyword"). Phase 1 and phase 2 both run
// emerge through here; the parsing is pure (phase2/emerge-progress.ts).
import {
  emergeReasons,
  foldEmerge,
  initialProgress,
  parseEmergeLine,
  type EmergeProgress,
} from "../phase2/emerge-progress.ts";
import { emergeTargets } from "../render/emerge.ts";
import { CommandError, tail, type CommandErrorOptions } from "../../shared/command-error.ts";
import type { CommandRunner } from "./runner.ts";

/** Output lines kept for the reasons and the tail (a failed build log can be long). */
const KEEP_LINES = 2000;

export class EmergeError extends CommandError {
  override name = "EmergeError";
  constructor(
    command: string,
    exitCode: number | undefined,
    outputTail: string,
    readonly progress: EmergeProgress,
    readonly reasons: string[],
    targets: string[],
    options: CommandErrorOptions,
  ) {
    super(command, exitCode, outputTail, options);
    const how =
      exitCode !== undefined
        ? `exited with ${exitCode}`
        : this.signal
          ? `was killed with ${this.signal}`
          : "failed";
    const failed = progress.failed.length ? ` (failed: ${progress.failed.join(", ")})` : "";
    const asked = targets.length > 12 ? [...targets.slice(0, 12), "..."] : targets;
    this.message = [`emerge ${how}${failed}; asked for ${asked.join(" ")}`, ...reasons].join("\n");
  }
}

export interface EmergeHooks {
  /** Every output line (stdout and stderr), for the log. */
  onLine?: (line: string) => void;
  /** After each progress line emerge prints. */
  onProgress?: (p: EmergeProgress) => void;
}

export async function runEmerge(
  runner: CommandRunner,
  argv: readonly string[],
  hooks: EmergeHooks = {},
): Promise<EmergeProgress> {
  let p = initialProgress();
  const lines: string[] = [];
  try {
    await runner.run(argv, {
      onLine: (line) => {
        hooks.onLine?.(line);
        lines.push(line);
        if (lines.length > KEEP_LINES) lines.shift();
        const parsed = parseEmergeLine(line);
        if (!parsed) return;
        p = foldEmerge(p, parsed);
        hooks.onProgress?.(p);
      },
    });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const output = lines.length ? lines : err.output.split("\n");
    throw new EmergeError(
      err.command,
      err.exitCode,
      tail(output.join("\n"), 8192),
      p,
      emergeReasons(output),
      emergeTargets(argv),
      { cause: err, signal: err.signal, timedOut: err.timedOut },
    );
  }
  return p;
}
