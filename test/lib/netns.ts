// Network namespaces for integration and e2e tests. Every packet a test sends
// stays inside namespaces created here; `close()` removes them even after a
// failure (call it from `after`/`finally`).
//
//   const net = await createTestNet("am-dhcp");
//   // net.server: namespace with veth `srv0` = 10.77.0.1/24
//   // net.client: namespace with veth `cli0` (no address)
//   await net.inClient("udhcpc", ["-i", "cli0", ...]);
//   await net.close();
import { execa, type Options, type ResultPromise } from "execa";
import { requireTool } from "./tools.ts";

export interface TestNet {
  /** Namespace names. */
  server: string;
  client: string;
  serverIf: string;
  clientIf: string;
  serverIp: string;
  prefixLen: number;
  subnet: string;
  /** Runs a command inside the server / client namespace. */
  inServer(cmd: string, args?: string[], opts?: Options): ResultPromise;
  inClient(cmd: string, args?: string[], opts?: Options): ResultPromise;
  close(): Promise<void>;
}

let counter = 0;

/** Unique per process and call, short enough for IFNAMSIZ-bound names elsewhere. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid % 100000}-${counter}`;
}

export async function ip(args: string[]): Promise<void> {
  await execa("ip", args);
}

export function nsExec(ns: string, cmd: string, args: string[] = [], opts: Options = {}) {
  return execa("ip", ["netns", "exec", ns, cmd, ...args], opts);
}

export async function createNamespace(name: string): Promise<void> {
  await ip(["netns", "add", name]);
  await nsExec(name, "ip", ["link", "set", "lo", "up"]);
}

export async function deleteNamespace(name: string): Promise<void> {
  // Kill anything still running inside, then remove the namespace.
  const pids = await execa("ip", ["netns", "pids", name], { reject: false });
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
  await execa("ip", ["netns", "del", name], { reject: false });
}

/**
 * Two namespaces joined by a veth pair: `<prefix>-s` holds the server end
 * with `serverIp`, `<prefix>-c` the client end, unconfigured.
 */
export async function createTestNet(
  prefix: string,
  opts: { subnet?: string; serverIp?: string; prefixLen?: number } = {},
): Promise<TestNet> {
  requireTool("ip");
  if (process.getuid?.() !== 0) throw new Error("createTestNet: network namespaces need root");
  const base = uniqueName(prefix);
  const server = `${base}-s`;
  const client = `${base}-c`;
  const serverIf = "srv0";
  const clientIf = "cli0";
  const serverIp = opts.serverIp ?? "10.77.0.1";
  const prefixLen = opts.prefixLen ?? 24;
  const subnet = opts.subnet ?? "10.77.0.0";
  const tmpA = `v${process.pid % 100000}a${counter}`;
  const tmpB = `v${process.pid % 100000}b${counter}`;
  const net: TestNet = {
    server,
    client,
    serverIf,
    clientIf,
    serverIp,
    prefixLen,
    subnet,
    inServer: (cmd, args = [], o = {}) => nsExec(server, cmd, args, o),
    inClient: (cmd, args = [], o = {}) => nsExec(client, cmd, args, o),
    close: async () => {
      await deleteNamespace(client);
      await deleteNamespace(server);
    },
  };
  try {
    await createNamespace(server);
    await createNamespace(client);
    await ip(["link", "add", tmpA, "type", "veth", "peer", "name", tmpB]);
    await ip(["link", "set", tmpA, "netns", server]);
    await ip(["link", "set", tmpB, "netns", client]);
    await net.inServer("ip", ["link", "set", tmpA, "name", serverIf]);
    await net.inClient("ip", ["link", "set", tmpB, "name", clientIf]);
    await net.inServer("ip", ["addr", "add", `${serverIp}/${prefixLen}`, "dev", serverIf]);
    await net.inServer("ip", ["link", "set", serverIf, "up"]);
    await net.inClient("ip", ["link", "set", clientIf, "up"]);
  } catch (err) {
    await net.close();
    throw new Error(`createTestNet(${prefix}): ${(err as Error).message}`, { cause: err });
  }
  return net;
}
