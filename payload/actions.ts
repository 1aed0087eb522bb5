// The actions other than install. `rescue`: the RAM system is the rescue
// system (consoles, sshd with root's keys from the spec); the payload only
// tells the server it got there and how to reach it, then ends the run so the
// next power-on boots the disk again. It touches no disk. Every other action
// the server may name is refused with a report, so a machine armed for
// something this payload cannot do shows up as failed, not as stalled.
import { readFile } from "node:fs/promises";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";
import { Reporter } from "./run/reporter.ts";

export interface ActionOptions {
  server?: string;
  token?: string;
  fetch?: typeof fetch;
  write?: (line: string) => void;
  /** Written by the image's sshd script once root's keys are in (or could not be fetched). */
  keysDone?: string;
  /** How long rescue waits for keysDone: the run's token must outlive that fetch. */
  keysWaitMs?: number;
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** Pure: "eth0 10.0.0.5" for every address a person could ssh to (no loopback, no link-local). */
export function reachableAddresses(ifs: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(ifs)) {
    for (const a of addrs ?? []) {
      if (a.internal || (a.family === "IPv6" && a.address.toLowerCase().startsWith("fe80:")))
        continue;
      out.push(`${name} ${a.address}`);
    }
  }
  return out;
}

async function waitForFile(path: string, ms: number): Promise<string | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const text = await readFile(path, "utf8").catch(() => undefined);
    if (text !== undefined || Date.now() >= until) return text?.trim();
    await new Promise((r) => setTimeout(r, 200));
  }
}

function reporterFor(o: ActionOptions): Reporter {
  return new Reporter({
    phase: 1,
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.write ? { write: o.write } : {}),
    ...(o.server && o.token ? { server: o.server, token: o.token } : {}),
  });
}

/** Exit code: 0. Ends the run only after root's keys were fetched with the run's token. */
export async function runRescue(o: ActionOptions): Promise<number> {
  const reporter = reporterFor(o);
  reporter.emit({ kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START" });
  const keys = await waitForFile(
    o.keysDone ?? "/run/automagic/rescue-keys.done",
    o.keysWaitMs ?? 90_000,
  );
  const addresses = reachableAddresses((o.interfaces ?? networkInterfaces)());
  const rootKeys = keys === "ok" ? "installed" : keys === undefined ? "timed out" : "not fetched";
  reporter.emit({
    kind: "run-done",
    step: "rescue",
    message: `rescue system up: ssh root@${addresses[0]?.split(" ")[1] ?? "<no address>"} (root's keys ${rootKeys})`,
    summary: { action: "rescue", addresses, rootKeys },
  });
  await reporter.flush();
  return 0;
}

/** Exit code 2: the server armed an action this payload does not carry. */
export async function refuseAction(action: string, o: ActionOptions): Promise<number> {
  const reporter = reporterFor(o);
  reporter.emit({ kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START" });
  reporter.emit({
    kind: "step-fail",
    step: "action",
    message: `action "${action}" is not one this payload knows (install, deploy:<image>, capture, rescue, discover); no disk was touched`,
  });
  await reporter.flush();
  return 2;
}
