// automagic-install: the payload. The FIRST line it prints is the start
// marker, before anything can fail, so the console log of a netbooted
// machine always shows whether the payload started at all.
process.stdout.write("AUTOMAGIC-PAYLOAD-START\n");

import { Command } from "commander";

export function buildProgram(): Command {
  return new Command("automagic-install")
    .description("Install Gentoo on this machine from an automagic server, keeping /home.")
    .option("--server <url>", "automagic server base URL")
    .option("--token <token>", "run token from the kernel command line")
    .option("--action <action>", "install (the only action phase 1 knows)", "install")
    .option("--phase <n>", "1 (RAM system) or 2 (first boot)", "1")
    .option("--dry-run", "print the plan as a tree and touch nothing")
    .option("--spec <file>", "read the install spec from a file instead of the server")
    .option("--devices <list>", "comma-separated block devices the probe may see")
    .option("--reboot", "reboot at the end of phase 1 (netboot image only)");
}

await buildProgram().parseAsync(process.argv);
