// automagic init [DIR]: a commented serve.yaml and a hosts folder to start
// from (server/app/starter.ts). Never overwrites: one existing file and
// nothing is written.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { installPaths } from "../../app/config.ts";
import { starterFiles } from "../../app/starter.ts";
import { CliError } from "../exit-codes.ts";

/** Writes the starter files under `dir`; returns their paths. */
export function writeStarter(dir: string): string[] {
  const files = starterFiles().map((f) => ({ ...f, path: join(dir, f.path) }));
  const taken = files.filter((f) => existsSync(f.path)).map((f) => f.path);
  if (taken.length)
    throw new CliError(
      "refused",
      `init: ${taken.join(", ")}: already there; nothing written (move them away)`,
    );
  for (const f of files) {
    mkdirSync(dirname(f.path), { recursive: true });
    // "wx": a file created between the check and now is still not overwritten
    writeFileSync(f.path, f.text, { flag: "wx", mode: 0o644 });
  }
  return files.map((f) => f.path);
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("write a commented serve.yaml and a hosts folder (never overwrites)")
    .argument("[dir]", "where (default /etc/automagic)")
    .option("--json", "{wrote: [files]}")
    .action((dir: string | undefined, o: { json?: boolean }) => {
      const target = resolve(dir ?? installPaths().etc);
      const wrote = writeStarter(target);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ wrote }, null, 2)}\n`);
        return;
      }
      for (const f of wrote) process.stdout.write(`wrote ${f}\n`);
      process.stdout.write(
        `next: edit ${join(target, "serve.yaml")}, copy hosts/example.yaml per machine, ` +
          `then automagic hosts validate ${join(target, "hosts")}\n`,
      );
    });
}
