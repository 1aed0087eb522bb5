// The `automagic` command line: runs the program and turns whatever failed
// into one line on stderr and an exit code (server/cli/exit-codes.ts).
import { CommanderError } from "commander";
import { exitCodeFor } from "./exit-codes.ts";
import { buildProgram } from "./program.ts";

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    // commander has already printed its own usage errors (and the help)
    if (!(err instanceof CommanderError)) {
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(`automagic: ${msg}\n`);
    }
    process.exitCode = exitCodeFor(err);
  });
