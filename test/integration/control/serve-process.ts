// Runs the real `automagic serve` as a child process (optionally inside a
// network namespace) over a temporary world: a copy of hosts/, a fake
// netboot image and its own state dir.
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa, type ResultPromise } from "execa";

export const REPO = resolve(import.meta.dirname, "../../..");
export const BIN = join(REPO, "bin/automagic");

export interface World {
  dir: string;
  hostsDir: string;
  stateDir: string;
  imagesDir: string;
  close(): void;
}

export function makeWorld(): World {
  const dir = mkdtempSync(join(tmpdir(), "am-ctl-world-"));
  const hostsDir = join(dir, "hosts");
  cpSync(join(REPO, "hosts"), hostsDir, { recursive: true });
  const imagesDir = join(dir, "images");
  mkdirSync(join(imagesDir, "t1"), { recursive: true });
  writeFileSync(join(imagesDir, "t1", "vmlinuz"), "test-kernel");
  writeFileSync(join(imagesDir, "t1", "initrd.img"), Buffer.alloc(64 * 1024, 7));
  symlinkSync("t1", join(imagesDir, "current"));
  return {
    dir,
    hostsDir,
    stateDir: join(dir, "state"),
    imagesDir,
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * serve.yaml for serve on the test net's srv0 (createTestNet: 10.77.0.1/24)
 * in full DHCP mode; `dhcp` are the lines under dhcp: after the mode.
 */
export function fullDhcpConfig(world: World, dhcp: string[]): string {
  const cfg = join(world.dir, "serve.yaml");
  const lines = [
    "interface: srv0",
    "listen: 10.77.0.1",
    "http: { port: 8080 }",
    "tftp: { port: 69 }",
  ];
  lines.push("dhcp:", "  mode: full", ...dhcp.map((l) => `  ${l}`), "");
  writeFileSync(cfg, lines.join("\n"));
  return cfg;
}

/**
 * Lets `host` fetch its boot script and token from `cidrs` (netboot.allowFrom):
 * a test that plays the machine from loopback is, to the server, a relayed
 * client it cannot tie to the MAC through a lease or the neighbour table.
 */
export function allowBootFrom(world: World, host: string, cidrs = ["127.0.0.1"]): void {
  const file = join(world.hostsDir, `${host}.yaml`);
  appendFileSync(file, `\nnetboot:\n  allowFrom: ${JSON.stringify(cidrs)}\n`);
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Served {
  url: string;
  proc: ResultPromise;
  log(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts serve and resolves once it logs "http: serving"; `netns` runs it inside one. */
export async function startServe(world: World, args: string[], netns?: string): Promise<Served> {
  const full = [
    BIN,
    "serve",
    "--hosts",
    world.hostsDir,
    "--state",
    world.stateDir,
    "--images",
    world.imagesDir,
    ...args,
  ];
  // The world is the root: no /etc/automagic/serve.yaml of this machine's creeps in.
  const opts = { reject: false, all: true, buffer: false, env: { AUTOMAGIC_ROOT: world.dir } };
  const proc = netns
    ? execa("ip", ["netns", "exec", netns, ...full], opts)
    : execa(full[0]!, full.slice(1), opts);
  let out = "";
  const url = await new Promise<string>((resolveUrl, reject) => {
    // A ready signal, not a sleep: generous for a loaded or 3x slower machine
    // (tsx compiles the server first; 20 s ran out here beside two TCG VMs).
    const timer = setTimeout(
      () => reject(new Error(`serve did not start in 60 s:\n${out}`)),
      60_000,
    );
    proc.all!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /"url":"([^"]+)".*"msg":"http: serving"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    // reject: false, so proc never rejects: it resolves when serve exits.
    void proc.then((r) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${r.exitCode ?? r.signal}):\n${out}`));
    });
  });
  const waitExit = async () => {
    await proc;
  };
  return {
    url,
    proc,
    log: () => out,
    async kill9() {
      proc.kill("SIGKILL");
      await waitExit();
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      await waitExit();
    },
  };
}

export async function cli(args: string[], env: Record<string, string>, netns?: string) {
  const cmd = netns ? ["ip", "netns", "exec", netns, BIN, ...args] : [BIN, ...args];
  return execa(cmd[0]!, cmd.slice(1), { env, reject: false });
}
