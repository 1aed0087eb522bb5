// Running the real payload against a loop disk (phase 1 as the netboot
// image runs it, phase 2 through chroot). Shared by the installer tests.
import { join, resolve } from "node:path";
import { execa } from "execa";
import type { TestServer } from "./server.ts";

export const REPO = resolve(import.meta.dirname, "../../..");

export interface PayloadRun {
  status: number | undefined;
  stdout: string;
  stderr: string;
}

/** A TypeScript entry run by node+tsx in a private mount namespace (see runPayload for why). */
async function runPrivate(script: string, args: string[], timeout: number): Promise<PayloadRun> {
  const r = await execa(
    "unshare",
    ["--mount", "--propagation", "private", process.execPath, "--import", "tsx", script, ...args],
    { cwd: REPO, reject: false, timeout, maxBuffer: 1 << 28 },
  );
  return { status: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Phase 1 as the netboot image runs it, except that --devices keeps it to
 * our loop device and nothing reboots. The spec comes from the server with
 * the token, as on a real machine. Async: the server lives in this process,
 * so a blocking spawn would deadlock it. A private mount namespace: a
 * namespace another test creates meanwhile (ip netns exec, unshare) would
 * otherwise copy our mounts and keep the loop filesystems busy after the
 * payload unmounted them.
 */
export async function runPayload(o: {
  /** The test server, or `automagic serve` itself (test/bench/deploy.bench.ts). */
  srv: Pick<TestServer, "url">;
  token: string;
  devices: string[];
  target: string;
  stateDir: string;
  dryRun?: boolean;
  /** --action: install (default), capture, deploy:<image> */
  action?: string;
}): Promise<PayloadRun> {
  return runPrivate(
    join(REPO, "payload/main.ts"),
    [
      "--server",
      o.srv.url,
      "--token",
      o.token,
      "--devices",
      o.devices.join(","),
      "--target",
      o.target,
      "--state-dir",
      o.stateDir,
      ...(o.dryRun ? ["--dry-run"] : []),
      ...(o.action ? ["--action", o.action] : []),
    ],
    2_400_000,
  );
}

/**
 * Phase 2 against the installed root, as the first boot runs it but through
 * chroot (phase2-chroot.ts mounts the root, /home and the API filesystems in
 * a private mount namespace and calls the payload's phase-2 entry).
 */
export async function runPhase2InChroot(o: {
  srv: TestServer;
  root: string;
  home: string;
  homeOptions?: string;
  dir: string;
}): Promise<PayloadRun> {
  return runPrivate(
    join(REPO, "test/integration/payload/phase2-chroot.ts"),
    [o.root, o.home, o.homeOptions ?? "defaults", o.dir],
    1_800_000,
  );
}
