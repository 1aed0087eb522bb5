// Shared set-up for the TFTP integration tests: a namespace pair (prefix
// am-tftp), a served root with real iPXE binaries and test files, and our
// server running in the server namespace as a child process; and
// misbehaving readers (slow-client.ts) in the client namespace.
import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { ResultPromise } from "execa";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import type { TftpConfig, TftpStats } from "../../../server/tftp/index.ts";
import type { SlowSpec, SlowStats } from "./slow-client.ts";

const REPO = join(import.meta.dirname, "../../..");

/** Reads a child's stdout line by line; each call waits up to 20 s for the next one. */
export function lineReader(stream: Readable, what: string): () => Promise<string> {
  const lines = createInterface({ input: stream });
  const queue: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  lines.on("line", (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const q = queue.shift();
      if (q !== undefined) return resolve(q);
      const t = setTimeout(() => reject(new Error(`${what}: no answer in 20 s`)), 20_000);
      waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
}

/** Server settings the tests may change (everything else as `automagic serve` sets it). */
export type FixtureConfig = Pick<
  TftpConfig,
  "maxBlksize" | "maxTransferMs" | "maxTransfersPerAddress" | "firstRetries"
>;

export const CLIENT_IP = "10.77.0.2";

export interface Fixture {
  net: TestNet;
  root: string;
  /** Where clients write what they fetched. */
  out: string;
  stats(): Promise<TftpStats>;
  /** True while the server process is running. */
  alive(): boolean;
  close(): Promise<void>;
}

export async function startFixture(opts: FixtureConfig = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), "am-tftp-it-"));
  const root = join(dir, "root");
  const out = join(dir, "out");
  let net: TestNet | undefined;
  let child: ResultPromise | undefined;
  let exited = false;
  const close = async () => {
    child?.stdin?.end("quit\n");
    child?.kill("SIGKILL");
    await child?.catch(() => {});
    await net?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await import("node:fs/promises").then((fs) => Promise.all([fs.mkdir(root), fs.mkdir(out)]));
    await copyFile("/usr/lib/ipxe/undionly.kpxe", join(root, "undionly.kpxe"));
    await copyFile("/usr/lib/ipxe/snponly.efi", join(root, "snponly.efi"));
    await writeFile(join(root, "random-3m.bin"), randomBytes(3 * 1024 * 1024 + 17));
    await writeFile(join(root, "exact-1k.bin"), randomBytes(1024));
    await writeFile(join(root, "text.txt"), "line one\nline two\r\nbare\rcr\n");
    await writeFile(join(dir, "secret"), "not for tftp\n");
    await symlink(join(dir, "secret"), join(root, "escape"));
    net = await createTestNet("am-tftp");
    await net.inClient("ip", ["addr", "add", `${CLIENT_IP}/24`, "dev", net.clientIf]);
    const args = [root, net.serverIp, "69", JSON.stringify(opts)];
    child = net.inServer(
      "node",
      ["--import", "tsx", join(import.meta.dirname, "serve-in-ns.ts"), ...args],
      {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "inherit",
        buffer: false,
        cwd: REPO,
      },
    );
    child.then(
      () => (exited = true),
      () => (exited = true),
    );
    const nextLine = lineReader(child.stdout!, "tftp server child");
    const ready = JSON.parse(await nextLine()) as { ready: number };
    if (ready.ready !== 69)
      throw new Error(`tftp server child: unexpected ready line ${JSON.stringify(ready)}`);
    const c = child;
    const n = net;
    return {
      net: n,
      root,
      out,
      alive: () => !exited,
      stats: async () => {
        c.stdin!.write("stats\n");
        return JSON.parse(await nextLine()) as TftpStats;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface SlowClients {
  /** Counts once every socket had its first answer. */
  first: SlowStats;
  stats(): Promise<SlowStats>;
  /** Closes the sockets (the server then gets port-unreachable) and waits for the exit. */
  quit(): Promise<void>;
}

/** Starts slow-client.ts in the client namespace (its own address must already be on cli0). */
export async function startSlowClients(net: TestNet, spec: SlowSpec): Promise<SlowClients> {
  const child = net.inClient(
    "node",
    ["--import", "tsx", join(import.meta.dirname, "slow-client.ts"), JSON.stringify(spec)],
    { stdin: "pipe", stdout: "pipe", stderr: "inherit", buffer: false, cwd: REPO },
  );
  const nextLine = lineReader(child.stdout!, "slow-client");
  try {
    const first = JSON.parse(await nextLine()) as SlowStats;
    return {
      first,
      stats: async () => {
        child.stdin!.write("stats\n");
        return JSON.parse(await nextLine()) as SlowStats;
      },
      quit: async () => {
        child.stdin!.end("quit\n");
        await child;
      },
    };
  } catch (err) {
    child.kill("SIGKILL");
    await child.catch(() => {});
    throw err;
  }
}
