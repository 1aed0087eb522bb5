// automagic hosts validate|list|render|schema — the host repo from the shell.
// registerHosts returns the `hosts` command so other modules can add their
// own subcommands to it (e.g. `hosts discovered`).
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { GENTOO_RELEASE_KEY } from "../../../payload/spec/schema.ts";
import { installPaths } from "../../app/config.ts";
import {
  HostFileError,
  loadHostRegistry,
  redactSpec,
  renderJsonSchema,
  resolveInstallSpec,
  type HostRegistry,
} from "../../hosts/index.ts";
import { formatHostTable } from "../../hosts/listing.ts";
import { CliError, EXIT } from "../exit-codes.ts";

// serve's default (/etc/automagic/hosts); in a checkout: AUTOMAGIC_HOSTS=hosts
const DEFAULT_DIR = process.env.AUTOMAGIC_HOSTS ?? installPaths().hostsDir;
const DEFAULT_MIRROR = "http://automagic/mirror/";

export function registerHosts(program: Command): Command {
  const hosts = program
    .command("hosts")
    .description("check, list and render the host files (hosts/<name>.yaml)");

  hosts
    .command("validate")
    .description("check every host file; print all problems as `file: path: reason`, exit 1 on any")
    .argument("[dir]", "host folder", DEFAULT_DIR)
    .option("--json", "{dir, ok, hosts} or {dir, ok, problems} on stdout")
    .action(async (dir: string, opts: { json?: boolean }) => {
      const reg = await load(dir, opts.json);
      if (!reg) return;
      if (opts.json) {
        const hosts = reg.hosts.map((h) => h.name);
        process.stdout.write(`${JSON.stringify({ dir, ok: true, hosts }, null, 2)}\n`);
        return;
      }
      const n = reg.hosts.length;
      const names = n === 0 ? "" : ` (${reg.hosts.map((h) => h.name).join(", ")})`;
      process.stdout.write(`${dir}: ${n} host${n === 1 ? "" : "s"} OK${names}\n`);
    });

  hosts
    .command("list")
    .description("print host, MACs, firmware, disk and layout")
    .argument("[dir]", "host folder", DEFAULT_DIR)
    .option("--json", "one JSON object per host")
    .action(async (dir: string, opts: { json?: boolean }) => {
      const reg = await load(dir);
      if (!reg) return;
      if (opts.json) {
        for (const h of reg.hosts) {
          const { name, file, macs, firmware, groups } = h;
          const disk = h.raw.disk;
          process.stdout.write(`${JSON.stringify({ name, file, macs, firmware, disk, groups })}\n`);
        }
      } else process.stdout.write(formatHostTable(reg.hosts));
    });

  hosts
    .command("render")
    .description("print the install spec the payload would receive (secrets redacted)")
    .argument("<host>", "host name")
    .option("-d, --dir <dir>", "host folder", DEFAULT_DIR)
    .option("--mirror <url>", "the server's mirror URL as the payload reaches it", DEFAULT_MIRROR)
    .option("--trusted-key <fpr...>", "accepted signing key fingerprints", [GENTOO_RELEASE_KEY])
    .option("--with-secrets", "print password hashes instead of <redacted>")
    .option("--json", "accepted like every command's; the output is always JSON")
    .action(
      async (
        name: string,
        opts: { dir: string; mirror: string; trustedKey: string[]; withSecrets?: boolean },
      ) => {
        const reg = await load(opts.dir);
        if (!reg) return;
        const host = reg.byName(name);
        if (!host) {
          const known = reg.hosts.map((h) => h.name).join(", ");
          throw new CliError(
            "notFound",
            `hosts render: no host "${name}" in ${opts.dir} (known: ${known})`,
          );
        }
        const spec = resolveInstallSpec(host, {
          mirrorUrl: opts.mirror,
          trustedKeys: opts.trustedKey,
        });
        const out = opts.withSecrets ? spec : redactSpec(spec);
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      },
    );

  hosts
    .command("schema")
    .description("print the JSON Schema of host files (for editors)")
    .option("-o, --out <file>", "write it to a file instead of stdout")
    .option("--json", "accepted like every command's; the output is always JSON")
    .action(async (opts: { out?: string }) => {
      const text = renderJsonSchema();
      if (opts.out) await writeFile(opts.out, text);
      else process.stdout.write(text);
    });

  return hosts;
}

/**
 * The registry, or undefined after printing every problem (exit code 1):
 * to stderr, or with `json` as {dir, ok: false, problems} to stdout.
 */
async function load(dir: string, json = false): Promise<HostRegistry | undefined> {
  try {
    return await loadHostRegistry(dir);
  } catch (err) {
    if (!(err instanceof HostFileError)) throw err;
    process.exitCode = EXIT.failed;
    if (json) {
      const doc = { dir, ok: false, problems: err.messages };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      return undefined;
    }
    for (const m of err.messages) process.stderr.write(`${m}\n`);
    const n = err.messages.length;
    process.stderr.write(`${n} problem${n === 1 ? "" : "s"} in ${dir}\n`);
    return undefined;
  }
}
