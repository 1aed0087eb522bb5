// Shared set-up for the TFTP integration tests: a namespace pair (prefix
// am-tftp), a served root with real iPXE binaries and test files, and our
// server running in the server namespace as a child process.
import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { ResultPromise } from "execa";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import type { TftpStats } from "../../../server/tftp/index.ts";

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

export async function startFixture(opts: { maxBlksize?: number } = {}): Promise<Fixture> {
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
    const args = [root, net.serverIp, "69", ...(opts.maxBlksize ? [String(opts.maxBlksize)] : [])];
    child = net.inServer(
      "node",
      ["--import", "tsx", join(import.meta.dirname, "serve-in-ns.ts"), ...args],
      {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "inherit",
        buffer: false,
        cwd: join(import.meta.dirname, "../../.."),
      },
    );
    child.then(
      () => (exited = true),
      () => (exited = true),
    );
    const lines = createInterface({ input: child.stdout! });
    const queue: string[] = [];
    const waiters: Array<(l: string) => void> = [];
    lines.on("line", (l) => {
      const w = waiters.shift();
      if (w) w(l);
      else queue.push(l);
    });
    const nextLine = () =>
      new Promise<string>((resolve, reject) => {
        const q = queue.shift();
        if (q !== undefined) return resolve(q);
        const t = setTimeout(
          () => reject(new Error("tftp server child: no answer in 20 s")),
          20_000,
        );
        waiters.push((l) => {
          clearTimeout(t);
          resolve(l);
        });
      });
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
