// host files (validate, list, render, schema, discovered) — issue 2
import type { Command } from "commander";

export function registerHosts(program: Command): void {
  program
    .command("hosts")
    .description("not built yet")
    .action(() => {
      throw new Error("hosts: not built yet");
    });
}
