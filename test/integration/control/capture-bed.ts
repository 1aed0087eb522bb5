// A capture test bed as users run it: `automagic serve` from a config file
// inside a network namespace, its state folder on a small tmpfs (a real disk
// that fills), and a "machine" in a second namespace whose interface carries
// qemu-bios's MAC, so the server's neighbour table proves who asks for the
// boot script. Uploads are made with curl from the machine's namespace, the
// body fed from here so a test can trickle it or pause it.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { mountTmpfs, type SmallDisk } from "../../lib/tmpfs.ts";
import { requireTool } from "../../lib/tools.ts";
import { cli, makeWorld, startServe, type Served, type World } from "./serve-process.ts";

export const MAC = "52:54:00:a0:00:01"; // hosts/qemu-bios.yaml
const SERVER_IP = "10.77.0.1";
const MACHINE_IP = "10.77.0.2";

export interface PutResult {
  /** HTTP status curl saw; 0 when it saw none (connection cut). */
  status: number;
  body: string;
  /** curl's complaint when it failed. */
  error: string;
  /** From start until curl exited, and when that was (performance.now()). */
  ms: number;
  exitedAt: number;
}

/**
 * Writes the body: `write` resolves when the chunk is handed to curl and
 * rejects once curl has exited (the feed then stops).
 */
export type Feed = (write: (chunk: Buffer) => Promise<void>) => Promise<void>;

export interface CaptureBed {
  /** http://<server>:8080 as the machine reaches it. */
  url: string;
  stateDir: string;
  served: Served;
  /** Arms a capture of qemu-bios and boots it: the run token. */
  arm(): Promise<string>;
  /** PUT .../sysimg: a file (curl sends Content-Length) or a fed stream (chunked). */
  put(token: string, body: { file: string } | { feed: Feed }): Promise<PutResult>;
  commit(token: string, sha256: string): Promise<PutResult>;
  /** POST of a fed JSON body (chunked) to `path` on the server. */
  post(path: string, feed: Feed): Promise<PutResult>;
  /** The images the admin API lists (names). */
  listed(): Promise<string[]>;
  /** What is in <stateDir>/sysimgs. */
  files(): string[];
  close(): Promise<void>;
}

export interface BedOptions {
  /** tmpfs size for the state folder, e.g. "8m". */
  disk: string;
  /** YAML lines added to serve.yaml (sysimgs:, http:). */
  config: string[];
}

export async function startCaptureBed(o: BedOptions): Promise<CaptureBed> {
  for (const t of ["curl", "ip", "mount"]) requireTool(t);
  const undo: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const u of undo.reverse()) await u();
  };
  try {
    const base = makeWorld();
    undo.push(() => base.close());
    const disk: SmallDisk = await mountTmpfs(o.disk, "am-capture-state-");
    undo.push(() => disk.close());
    const world: World = { ...base, stateDir: disk.dir };
    const net: TestNet = await createTestNet("am-cap");
    undo.push(() => net.close());
    await net.inClient("ip", ["link", "set", net.clientIf, "address", MAC]);
    await net.inClient("ip", ["addr", "add", `${MACHINE_IP}/24`, "dev", net.clientIf]);
    const adminToken = randomBytes(24).toString("hex");
    const cfg = join(base.dir, "serve.yaml");
    writeFileSync(
      cfg,
      [
        `listen: ${SERVER_IP}`,
        "tftp: { enabled: false }",
        `adminToken: ${adminToken}`,
        ...o.config,
        "",
      ].join("\n"),
    );
    const served = await startServe(world, ["--config", cfg], net.server);
    undo.push(() => served.stop());
    const url = `http://${SERVER_IP}:8080`;
    const env = { AUTOMAGIC_SERVER: "http://127.0.0.1:8080", AUTOMAGIC_ADMIN_TOKEN: adminToken };
    const dir = join(disk.dir, "sysimgs");
    const out = join(base.dir, "curl-out");

    const curl = async (args: string[], feed?: Feed): Promise<PutResult> => {
      const t0 = performance.now();
      const p = net.inClient(
        "curl",
        ["-sS", "-o", out, "-w", "%{http_code}", "-H", "Expect:", ...args],
        { reject: false, stdin: feed ? "pipe" : "ignore" },
      );
      let exitedAt = 0;
      void p.finally(() => (exitedAt = performance.now())); // reject: false: never rejects
      if (feed) {
        const stdin = p.stdin!;
        stdin.on("error", () => {}); // curl gone: seen through exitedAt
        await feed(
          (chunk) =>
            new Promise<void>((res, rej) => {
              if (exitedAt) return rej(new Error("curl exited"));
              stdin.write(chunk, () => res());
            }),
        )
          .catch(() => {})
          .finally(() => stdin.end());
      }
      const r = await p;
      let body = "";
      try {
        body = readFileSync(out, "utf8");
        writeFileSync(out, "");
      } catch {
        // no body
      }
      return {
        status: Number(r.stdout) || 0,
        body,
        error: String(r.stderr ?? ""),
        ms: exitedAt - t0,
        exitedAt,
      };
    };

    return {
      url,
      stateDir: disk.dir,
      served,
      async arm() {
        const armed = await cli(["next", "qemu-bios", "capture"], env, net.server);
        if (armed.exitCode !== 0) throw new Error(`automagic next: ${armed.stderr}`);
        const boot = await net.inClient("curl", ["-sS", `${url}/boot.ipxe?mac=${MAC}`]);
        const token = /automagic\.token=(\S+)/.exec(String(boot.stdout))?.[1];
        if (!token) throw new Error(`no token in the boot script:\n${boot.stdout}`);
        return token;
      },
      put(token, body) {
        const target = `${url}/api/v1/run/${token}/sysimg`;
        const head = ["-X", "PUT", "-H", "Content-Type: application/zstd", target];
        return "file" in body
          ? curl(["-T", body.file, ...head])
          : curl(["-T", "-", ...head], body.feed);
      },
      commit(token, sha256) {
        return curl([
          "-X",
          "POST",
          "-H",
          "Content-Type: application/json",
          "--data",
          JSON.stringify({ sha256, source: { device: "/dev/vda2" } }),
          `${url}/api/v1/run/${token}/sysimg/commit`,
        ]);
      },
      post(path, feed) {
        const head = ["-X", "POST", "-H", "Content-Type: application/json"];
        return curl(["-T", "-", ...head, `${url}${path}`], feed);
      },
      async listed() {
        const r = await cli(["sysimgs", "--json"], env, net.server);
        if (r.exitCode !== 0) throw new Error(`automagic sysimgs: ${r.stderr}`);
        return (JSON.parse(r.stdout) as Array<{ name: string }>).map((i) => i.name);
      },
      files: () => readdirSync(dir).sort(),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Epoch ms of serve's first log line matching `msg` (pino's "time"), or undefined. */
export function loggedAt(log: string, msg: RegExp): number | undefined {
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { time: number; msg: string };
    if (msg.test(entry.msg)) return entry.time;
  }
  return undefined;
}

export { sha256 } from "../../../shared/hash.ts";
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
