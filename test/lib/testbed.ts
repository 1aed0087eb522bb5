// The e2e test network: one namespace holding a bridge with the server's
// address, one tap per VM, and an IPv6 router advertiser (iPXE otherwise
// waits ~14 s on IPv6 autoconfiguration: shared/reference/qemu-netboot-facts.md).
// QEMU and `automagic serve` both run inside it; nothing leaves it.
import { execFileSync } from "node:child_process";
import { execa, type Options } from "execa";
import { createNamespace, deleteNamespace, nsExec, uniqueName } from "./netns.ts";
import { requireTool } from "./tools.ts";

export interface Testbed {
  ns: string;
  bridge: string;
  serverIp: string;
  subnetPrefix: string; // "10.88.0"
  exec(cmd: string, args?: string[], opts?: Options): ReturnType<typeof nsExec>;
  addTap(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function createTestbed(prefix = "am-e2e"): Promise<Testbed> {
  for (const t of ["ip", "dnsmasq", "qemu-system-x86_64"]) requireTool(t);
  if (process.getuid?.() !== 0)
    throw new Error("createTestbed: needs root (network namespaces, taps)");
  const ns = uniqueName(prefix);
  const bridge = "br0";
  const serverIp = "10.88.0.1";
  const exec = (cmd: string, args: string[] = [], opts: Options = {}) =>
    nsExec(ns, cmd, args, opts);
  let ra: ReturnType<typeof nsExec> | undefined;
  const bed: Testbed = {
    ns,
    bridge,
    serverIp,
    subnetPrefix: "10.88.0",
    exec,
    async addTap(name: string) {
      await exec("ip", ["tuntap", "add", "dev", name, "mode", "tap"]);
      await exec("ip", ["link", "set", name, "master", bridge]);
      await exec("ip", ["link", "set", name, "up"]);
      return name;
    },
    async close() {
      process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
      ra?.kill("SIGKILL");
      await deleteNamespace(ns);
    },
  };
  // A test run killed from outside runs no `after` hooks: still take down
  // everything inside the namespace (QEMU, the server) and the namespace.
  const onSignal = (sig: NodeJS.Signals) => {
    killNamespaceSync(ns);
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    await createNamespace(ns);
    await exec("ip", ["link", "add", bridge, "type", "bridge"]);
    await exec("ip", ["addr", "add", `${serverIp}/24`, "dev", bridge]);
    await exec("ip", ["addr", "add", "fd00:88::1/64", "dev", bridge, "nodad"]);
    await exec("ip", ["link", "set", bridge, "up"]);
    ra = exec(
      "dnsmasq",
      [
        "--conf-file=/dev/null",
        "--port=0",
        "--keep-in-foreground",
        `--interface=${bridge}`,
        "--bind-interfaces",
        "--enable-ra",
        `--dhcp-range=::,constructor:${bridge},ra-only`,
        "--pid-file=",
      ],
      { reject: false },
    );
  } catch (err) {
    await bed.close();
    throw new Error(`createTestbed: ${(err as Error).message}`, { cause: err });
  }
  return bed;
}

function killNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" });
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone already
      }
    }
    execFileSync("ip", ["netns", "del", ns]);
  } catch {
    // best effort on the way out
  }
}

/** Runs a command in the testbed and returns stdout (throws with stderr on failure). */
export async function inBed(
  bed: Testbed,
  cmd: string,
  args: string[],
  opts: Options = {},
): Promise<string> {
  const r = await bed.exec(cmd, args, opts);
  return String(r.stdout ?? "");
}

export { execa };
