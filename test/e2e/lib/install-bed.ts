// The set-up every install e2e suite shares: cached artifacts (image +
// fixture mirror), a work dir with an SSH key the hosts trust, the testbed
// namespace with taps, and `automagic serve` in it — in full DHCP mode, or in
// proxy mode beside a dnsmasq that hands out the addresses. close() tears it
// all down (also after a failure); consoles, server log and state stay.
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { createTestbed, type Testbed } from "../../lib/testbed.ts";
import { probeAccel, type Accel, type RunningVm } from "../../lib/qemu.ts";
import { ensureArtifacts, ensureImage, type Artifacts } from "./artifacts.ts";
import { PROXY_IP, startSiteDhcp } from "./chain-bed.ts";
import { prepareHosts, startBedServer, type BedServer } from "./server.ts";
import type { FlowContext } from "./install-flow.ts";

export interface InstallBed extends FlowContext {
  art: Artifacts;
  close(): Promise<void>;
}

export async function openInstallBed(opts: {
  /** Work-dir name under /tmp. */
  name: string;
  /** Namespace name prefix. */
  ns: string;
  taps: string[];
  dhcpMode?: "full" | "proxy";
  /** Runs after the work dir and key exist, before any VM: make the disks here. */
  prepare?: (work: string) => Promise<void>;
  /**
   * No Gentoo mirror behind the server (machines only armed `rescue`): the
   * image alone is built, the fixture mirror is an empty stand-in.
   */
  noMirror?: boolean;
}): Promise<InstallBed> {
  const accel: Accel = probeAccel();
  process.stderr.write(`[e2e] accelerator: ${accel.name} (${accel.why})\n`);
  const work = await mkdtemp(`/tmp/${opts.name}-`);
  const art = opts.noMirror ? await imageOnly(work) : await ensureArtifacts();
  const keyFile = join(work, "id_ed25519");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", keyFile]);
  const hostsDir = await prepareHosts(work, await readFile(`${keyFile}.pub`, "utf8"));
  await opts.prepare?.(work);
  const vms: RunningVm[] = [];
  const extra: ResultPromise[] = [];
  let bed: Testbed | undefined;
  let server: BedServer | undefined;
  const close = async () => {
    for (const vm of vms) await vm.kill();
    await server?.stop().catch(() => undefined);
    for (const p of extra) p.kill("SIGKILL");
    await bed?.close();
    // Disk images are large; consoles, server log and state stay for inspection.
    await execa("bash", ["-c", `rm -f "${work}"/*.img`]);
    process.stderr.write(`[e2e] logs kept for inspection: ${work}\n`);
  };
  try {
    bed = await createTestbed(opts.ns);
    for (const t of opts.taps) await bed.addTap(t);
    const proxy = opts.dhcpMode === "proxy";
    if (proxy) await startSiteDhcp(bed, work, extra);
    server = await startBedServer(bed, art, {
      workDir: work,
      hostsDir,
      dhcpMode: opts.dhcpMode ?? "full",
      ...(proxy ? { listen: PROXY_IP } : {}),
    });
    return { art, bed, server, accel, work, keyFile, vms, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function imageOnly(work: string): Promise<Artifacts> {
  const fixtureDir = join(work, "no-mirror");
  await mkdir(join(fixtureDir, "keys"), { recursive: true });
  return { imagesDir: await ensureImage(), fixtureDir, fixtureKey: "A".repeat(40) };
}
