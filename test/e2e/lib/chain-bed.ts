// The netboot-chain testbed: the e2e namespace with two taps, `automagic
// serve` in full or proxy mode (proxy: beside a dnsmasq that owns the
// bridge's primary address and hands out leases), and a diskless VM powered
// on until its boot.ipxe is served. Scratch dirs stay for inspection.
import assert from "node:assert/strict";
import { mkdir, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { startDnsmasq } from "../../lib/dnsmasq.ts";
import { createTestbed, type Testbed } from "../../lib/testbed.ts";
import { startVm, type Accel, type RunningVm } from "../../lib/qemu.ts";
import { startBedServer, type BedServer } from "./server.ts";
import { chainSteps, type ChainRow, type ChainSteps } from "./boot-chain.ts";

const MIN = 60_000;
/** automagic's address in proxy mode (the other DHCP server keeps 10.88.0.1). */
export const PROXY_IP = "10.88.0.2";

export interface Bed {
  bed: Testbed;
  server: BedServer;
  work: string;
  vms: RunningVm[];
  extra: ResultPromise[];
}

export async function openBed(mode: "full" | "proxy"): Promise<Bed> {
  const work = await mkdtemp(`/tmp/am-chain-${mode}-`);
  // No image and no mirror are needed to reach /boot.ipxe: empty stand-ins.
  const imagesDir = join(work, "images");
  const fixtureDir = join(work, "fixture");
  const hostsDir = join(work, "hosts");
  for (const d of [imagesDir, join(fixtureDir, "keys"), hostsDir])
    await mkdir(d, { recursive: true });
  const bed = await createTestbed("am-chain");
  const open: Bed = { bed, work, vms: [], extra: [], server: undefined as unknown as BedServer };
  try {
    for (const t of ["tap0", "tap1"]) await bed.addTap(t);
    if (process.env.AUTOMAGIC_CHAIN_PCAP === "1") {
      // Diagnosis: every DHCP/TFTP packet on the bridge, to read with tshark.
      const pcap = join(work, "br0.pcap");
      open.extra.push(
        bed.exec("tcpdump", ["-i", bed.bridge, "-U", "-w", pcap, "udp"], { reject: false }),
      );
    }
    if (mode === "proxy") await startSiteDhcp(bed, work, open.extra);
    open.server = await startBedServer(
      bed,
      { imagesDir, fixtureDir, fixtureKey: "A".repeat(40) },
      {
        workDir: work,
        hostsDir,
        dhcpMode: mode,
        ...(mode === "proxy" ? { listen: PROXY_IP } : {}),
      },
    );
    return open;
  } catch (err) {
    await closeBed(open);
    throw err;
  }
}

/**
 * Proxy mode's neighbour: the site's DHCP server (dnsmasq) keeps the bridge's
 * primary address (its server id) and hands out the leases; automagic then
 * listens on PROXY_IP, as it would on its own box. The dnsmasq process goes
 * into `procs` (not returned: awaiting a subprocess waits for its exit).
 */
export async function startSiteDhcp(
  bed: Testbed,
  work: string,
  procs: ResultPromise[],
): Promise<void> {
  await bed.exec("ip", ["addr", "add", `${PROXY_IP}/24`, "dev", bed.bridge]);
  const site = await startDnsmasq(bed.exec, {
    iface: bed.bridge,
    range: "10.88.0.50,10.88.0.90,1h",
    leaseFile: join(work, "dnsmasq.leases"),
    authoritative: true,
    logFile: join(work, "dnsmasq.log"),
  });
  procs.push(site.proc);
}

export async function closeBed(b: Bed | undefined): Promise<void> {
  if (!b) return;
  for (const vm of b.vms) await vm.kill().catch(() => undefined);
  await b.server?.stop().catch(() => undefined);
  for (const p of b.extra) p.kill("SIGKILL");
  await b.bed.close();
  process.stderr.write(`[chain] logs kept in ${b.work}\n`);
}

/** Powers a diskless VM on, waits for its boot.ipxe to be served, kills it, returns its trace. */
export async function bootToScript(
  b: Bed,
  accel: Accel,
  vm: { name: string; firmware: "bios" | "uefi"; mac: string; tap: string; extraArgs?: string[] },
): Promise<{ steps: ChainSteps; rows: ChainRow[]; t0: number }> {
  const t0 = Date.now();
  const run = startVm(
    {
      ...vm,
      memMiB: 256,
      disks: [],
      netbootFirst: true,
      workDir: b.work,
      // OVMF: no iPXE ROM on the NIC, so OVMF's own PXE must do the first hop.
      ...(vm.firmware === "uefi" ? { nicRom: "" } : {}),
    },
    accel,
    { netns: b.bed.ns },
  );
  b.vms.push(run);
  try {
    // iPXE prints each URL it fetches (without the query): the script, then
    // the chained per-MAC script. "No more network devices" is iPXE giving up
    // (or exiting after `local`), so the trace below says which it was.
    await run.waitFor(
      /boot\.ipxe : \d+ bytes \[script\][\s\S]*boot\.ipxe\.\.\. ok|No more network devices/,
      5 * MIN,
    );
    const deadline = Date.now() + 5_000;
    for (;;) {
      const { trace } = await b.server.json<{ trace: ChainRow[] }>(["trace", vm.mac]);
      const steps = chainSteps(trace);
      if (steps.served) return { steps, rows: trace, t0 };
      if (Date.now() > deadline) {
        assert.fail(
          `${vm.name}: no "boot.ipxe served" trace row (console: ${run.consoleLog}):\n` +
            JSON.stringify(trace, null, 1),
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await run.kill();
  }
}
