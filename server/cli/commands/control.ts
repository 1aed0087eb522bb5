// next/status/events/trace/inventory/wake — issue 4
import type { Command } from "commander";

export function registerControl(program: Command): void {
  program
    .command("next")
    .description("not built yet")
    .action(() => {
      throw new Error("next: not built yet");
    });
}
