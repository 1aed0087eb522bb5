// `automagic serve` inside the e2e testbed, driven through the real CLI
// (inside the namespace, over the loopback admin API) — what an operator does.
import { writeFile, cp, readFile } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { ResultPromise } from "execa";
import type { Testbed } from "../../lib/testbed.ts";
import { REPO, type Artifacts } from "./artifacts.ts";

export interface BedServer {
  url: string;
  logFile: string;
  hostsDir: string;
  cli(args: string[]): Promise<string>;
  json<T>(args: string[]): Promise<T>;
  stop(): Promise<void>;
}

/** Copies hosts/ to the work dir, replacing the placeholder SSH key with the test's key. */
export async function prepareHosts(workDir: string, publicKey: string): Promise<string> {
  const dir = join(workDir, "hosts");
  await cp(join(REPO, "hosts"), dir, { recursive: true });
  for (const f of ["qemu-bios.yaml", "qemu-uefi.yaml"]) {
    const p = join(dir, f);
    const text = await readFile(p, "utf8");
    await writeFile(
      p,
      text.replace(/"ssh-ed25519 \S*Placeholder\S* [^"]*"/g, JSON.stringify(publicKey.trim())),
    );
  }
  return dir;
}

export async function startBedServer(
  bed: Testbed,
  art: Artifacts,
  opts: {
    workDir: string;
    hostsDir: string;
    dhcpMode?: "full" | "proxy";
    /** Another address on the bridge (proxy mode: the other DHCP server keeps the primary). */
    listen?: string;
  },
): Promise<BedServer> {
  const port = 8080;
  const listen = opts.listen ?? bed.serverIp;
  const url = `http://${listen}:${port}`;
  const cfg = {
    interface: bed.bridge,
    listen,
    http: { port },
    tftp: { enabled: true, port: 69 },
    dhcp: {
      mode: opts.dhcpMode ?? "full",
      probeMs: 500,
      subnet: {
        network: `${bed.subnetPrefix}.0`,
        prefixLen: 24,
        poolStart: `${bed.subnetPrefix}.100`,
        poolEnd: `${bed.subnetPrefix}.199`,
        leaseSeconds: 3600,
      },
    },
    hostsDir: opts.hostsDir,
    stateDir: join(opts.workDir, "state"),
    imagesDir: art.imagesDir,
    mirror: {
      upstream: art.fixtureDir,
      cacheDir: join(opts.workDir, "mirror-cache"),
      keysDir: join(art.fixtureDir, "keys"),
    },
    trustedKeys: [art.fixtureKey],
    stallAfter: "5m",
    logLevel: "info",
  };
  const cfgFile = join(opts.workDir, "serve.yaml");
  await writeFile(cfgFile, stringify(cfg));
  const logFile = join(opts.workDir, "server.log");
  const out = createWriteStream(logFile);
  const proc: ResultPromise = bed.exec(join(REPO, "bin/automagic"), ["serve", "-c", cfgFile], {
    cwd: REPO,
    reject: false,
    all: true,
    buffer: false,
  });
  proc.all?.pipe(out);
  let exited = false;
  void proc.then(() => (exited = true)); // reject: false, so it never rejects

  const cli = async (args: string[]) => {
    const r = await bed.exec(join(REPO, "bin/automagic"), args, { cwd: REPO, reject: false });
    if (r.exitCode !== 0) {
      throw new Error(`automagic ${args.join(" ")} exited ${r.exitCode}: ${String(r.stderr)}`);
    }
    return String(r.stdout);
  };
  const server: BedServer = {
    url,
    logFile,
    hostsDir: opts.hostsDir,
    cli,
    json: async <T>(args: string[]) => JSON.parse(await cli([...args, "--json"])) as T,
    async stop() {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc;
      clearTimeout(t);
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited)
      throw new Error(
        `automagic serve exited at start; see ${logFile}:\n${await readFile(logFile, "utf8")}`,
      );
    try {
      await cli(["status", "--json"]);
      return server;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`automagic serve not answering after 30 s (${logFile})`, { cause: err });
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
