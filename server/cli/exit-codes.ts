// The CLI's exit codes: the one place where a failure becomes a number, so a
// script can tell "no such host" from "server down" without parsing stderr
// (docs/CLI.md lists them). Commands throw; main() calls exitCodeFor.
import { CommanderError } from "commander";
import { AdminApiError } from "../app/client.ts";
import { ActionError } from "../policy/actions.ts";

export const EXIT = {
  ok: 0,
  /** The command ran and found problems (invalid host files, an unverified download). */
  failed: 1,
  /** Bad arguments or options; nothing was sent. */
  usage: 2,
  /** No such host, image or system image. */
  notFound: 3,
  /** The server understood and refused (bad action, conflict, not configured). */
  refused: 4,
  /** No answer from the server (not running, wrong --server, connection dropped). */
  unreachable: 5,
  /** The server wants a valid admin token (401/403). */
  unauthorized: 6,
  /** The server failed (HTTP 5xx other than 501). */
  serverError: 7,
  /** `reinstall --wait`: the run had not ended when --timeout ran out. */
  timeout: 8,
} as const;

export type ExitKind = keyof typeof EXIT;

/** A failure that already knows its kind (thrown by commands and the admin client). */
export class CliError extends Error {
  constructor(
    readonly kind: ExitKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CliError";
  }
}

/** The kind of an HTTP status the admin API answered with. */
export function kindOfStatus(status: number): ExitKind {
  if (status === 404) return "notFound";
  if (status === 401 || status === 403) return "unauthorized";
  // 501: the server has no such feature configured (e.g. wake without an interface)
  if (status === 501 || (status >= 400 && status < 500)) return "refused";
  return "serverError";
}

export function kindOf(err: unknown): ExitKind {
  if (err instanceof CliError) return err.kind;
  if (err instanceof AdminApiError)
    return err.status === "unreachable" ? "unreachable" : kindOfStatus(err.status);
  if (err instanceof ActionError) return "usage";
  if (err instanceof CommanderError) {
    // --help and --version end through exitOverride too
    if (err.exitCode === 0) return "ok";
    return "usage";
  }
  return "failed";
}

export function exitCodeFor(err: unknown): number {
  return EXIT[kindOf(err)];
}
