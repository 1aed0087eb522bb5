// The `automagic` program: one module per subcommand group, each registering
// its own subcommands. Built by a function so tests (and `completion`) can
// walk it without running anything.
import { Argument, Command } from "commander";
import { bashCompletion, zshCompletion } from "./completion.ts";
import { registerHosts } from "./commands/hosts.ts";
import { registerServe } from "./commands/serve.ts";
import { registerControl } from "./commands/control.ts";
import { registerImage } from "./commands/image.ts";
import { registerMirror } from "./commands/mirror.ts";
import { registerReinstall } from "./commands/reinstall.ts";

export function buildProgram(): Command {
  const program = new Command("automagic")
    .description("Netboot machines and reinstall them with Gentoo, keeping /home.")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true })
    // usage errors throw (exit 2 through exit-codes.ts) instead of exit(1)
    .exitOverride();
  registerHosts(program);
  registerServe(program);
  registerControl(program);
  registerImage(program);
  registerMirror(program);
  registerReinstall(program);
  program
    .command("completion")
    .description("print a shell completion script: source <(automagic completion bash)")
    .addArgument(new Argument("<shell>").choices(["bash", "zsh"]))
    .action((shell: string) => {
      process.stdout.write(shell === "zsh" ? zshCompletion(program) : bashCompletion(program));
    });
  return program;
}
