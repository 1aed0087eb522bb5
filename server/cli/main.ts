// The `automagic` command line: a thin main that wires one module per
// subcommand group. Each module in ./commands registers its own subcommands.
import { Command } from "commander";
import { registerHosts } from "./commands/hosts.ts";
import { registerServe } from "./commands/serve.ts";
import { registerControl } from "./commands/control.ts";
import { registerImage } from "./commands/image.ts";
import { registerMirror } from "./commands/mirror.ts";

export function buildProgram(): Command {
  const program = new Command("automagic")
    .description("Netboot machines and reinstall them with Gentoo, keeping /home.")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  registerHosts(program);
  registerServe(program);
  registerControl(program);
  registerImage(program);
  registerMirror(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`automagic: ${msg}\n`);
    process.exitCode = process.exitCode || 1;
  });
