// DHCP+TFTP+HTTP server — issue 4
import type { Command } from "commander";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("not built yet")
    .action(() => {
      throw new Error("serve: not built yet");
    });
}
