// automagic-install: the payload. The FIRST line it prints is the start
// marker, before anything can fail, so the console log of a netbooted
// machine always shows whether the payload started at all.
process.stdout.write("AUTOMAGIC-PAYLOAD-START\n");

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { runPhase1 } from "./install.ts";
import { cmdlineArgs } from "./probe/cmdline.ts";
import { readTokenFile } from "./run/token-file.ts";

export function buildProgram(): Command {
  return new Command("automagic-install")
    .description("Install Gentoo on this machine from an automagic server, keeping /home.")
    .option(
      "--server <url>",
      "automagic server base URL (default: automagic.url= on /proc/cmdline)",
    )
    .option("--token <token>", "run token (default: automagic.token= on /proc/cmdline)")
    .option(
      "--token-file <file>",
      "read the run token from a file only root can read (reinstall --via ssh writes it 0600)",
    )
    .option(
      "--action <action>",
      "install, deploy:<image> (install from a captured image), capture (archive the installed root to the server), rescue (report, leave the machine to sshd), or discover (report the hardware read-only, then power off or reboot as the server says)",
      "install",
    )
    .option("--phase <n>", "1 (RAM system) or 2 (first boot)", "1")
    .option("--dry-run", "print the plan as a tree and touch nothing")
    .option("--spec <file>", "read the install spec from a file instead of the server")
    .option(
      "--devices <list>",
      "comma-separated block devices the probe may see (nothing else is a candidate)",
    )
    .option("--target <dir>", "where the new root is mounted", "/mnt/gentoo")
    .option("--state-dir <dir>", "scratch directory on the RAM system", "/run/automagic")
    .option("--reboot", "reboot at the end of phase 1 (implied when booted by automagic)")
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const cmdline = cmdlineArgs(readFileSync("/proc/cmdline", "utf8"));
      const server = (o.server as string | undefined) ?? cmdline.url;
      const token =
        (o.token as string | undefined) ??
        (o.tokenFile ? readTokenFile(o.tokenFile as string) : undefined) ??
        cmdline.token;
      if (o.phase === "2") {
        const { runPhase2Cli } = await import("./phase2-cli.ts");
        process.exitCode = await runPhase2Cli({ server, token });
        return;
      }
      const action = (o.action as string | undefined) ?? "install";
      if (action === "capture" || action.startsWith("capture:")) {
        if (!server || !token) throw new Error("--action capture needs --server and --token");
        const { runCapture } = await import("./capture.ts");
        process.exitCode = await runCapture({
          server,
          token,
          ...(o.devices ? { devices: (o.devices as string).split(",").filter(Boolean) } : {}),
          reboot: !!o.reboot,
          write: (l) => process.stdout.write(`${l}\n`),
        });
        return;
      }
      if (action === "discover") {
        if (!server || !token) throw new Error("--action discover needs --server and --token");
        const { runDiscover } = await import("./discover/run.ts");
        process.exitCode = await runDiscover({
          server,
          token,
          ...(o.devices ? { devices: (o.devices as string).split(",").filter(Boolean) } : {}),
          // Only the netboot image powers off or reboots: never a test, never a developer's machine.
          power: cmdline.url !== undefined,
          scratch: o.stateDir as string,
          write: (l) => process.stdout.write(`${l}\n`),
        });
        return;
      }
      const deploy = action.startsWith("deploy:") ? action.slice("deploy:".length) : undefined;
      if (action !== "install" && !deploy) {
        const { runRescue, refuseAction } = await import("./actions.ts");
        const at = { ...(server ? { server } : {}), ...(token ? { token } : {}) };
        process.exitCode =
          action === "rescue" ? await runRescue(at) : await refuseAction(action, at);
        return;
      }
      process.exitCode = await runPhase1({
        ...(server ? { server } : {}),
        ...(token ? { token } : {}),
        ...(o.spec ? { specFile: o.spec as string } : {}),
        ...(o.devices ? { devices: (o.devices as string).split(",").filter(Boolean) } : {}),
        ...(deploy ? { deploy } : {}),
        dryRun: !!o.dryRun,
        // Only the netboot image reboots: never a test, never a developer's machine.
        reboot: !o.dryRun && (!!o.reboot || cmdline.url !== undefined),
        target: o.target as string,
        stateDir: o.stateDir as string,
      });
    });
}

await buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(
      `automagic-install: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = process.exitCode || 1;
  });
