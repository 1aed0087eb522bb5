// image build — issue 5
import type { Command } from "commander";

export function registerImage(program: Command): void {
  program
    .command("image")
    .description("not built yet")
    .action(() => {
      throw new Error("image: not built yet");
    });
}
