// mirror sync — issue 6
import type { Command } from "commander";

export function registerMirror(program: Command): void {
  program
    .command("mirror")
    .description("not built yet")
    .action(() => {
      throw new Error("mirror: not built yet");
    });
}
