// The install flow every firmware variant walks: arm -> power on -> DHCP ->
// iPXE -> image -> phase 1 -> reboot -> power on again (must boot the disk)
// -> phase 2 -> done; then SSH in with the host's key and check the system,
// power off and compare /home's manifest with what it was before.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  diffManifests,
  manifest,
  withMountedImage,
  type ManifestEntry,
} from "../../lib/home-disk.ts";
import { startVm, type Accel, type RunningVm } from "../../lib/qemu.ts";
import type { Testbed } from "../../lib/testbed.ts";
import type { HomeDisk } from "./disks.ts";
import type { BedServer } from "./server.ts";
import { sshTo, waitForSsh } from "./ssh.ts";
import {
  fetchTimeline,
  findTrace,
  renderTimeline,
  type Timeline,
  type TraceRow,
} from "./timeline.ts";

const MIN = 60_000;

export interface FlowContext {
  bed: Testbed;
  server: BedServer;
  accel: Accel;
  work: string;
  keyFile: string;
  vms: RunningVm[];
}

export interface Machine {
  host: string;
  mac: string;
  firmware: "bios" | "uefi";
  tap: string;
  disks: Array<{ file: string; serial: string }>;
  home: HomeDisk;
  memMiB?: number;
}

interface Status {
  state: string;
  run?: { status: string; phase: number; failure?: string };
}

export type Ssh = (cmd: string) => Promise<string>;

function log(msg: string): void {
  process.stderr.write(`[e2e] ${msg}\n`);
}

export function bootMachine(ctx: FlowContext, m: Machine, name: string): RunningVm {
  const vm = startVm(
    {
      name,
      firmware: m.firmware,
      mac: m.mac,
      memMiB: m.memMiB ?? 2048,
      disks: m.disks,
      tap: m.tap,
      netbootFirst: true,
      workDir: ctx.work,
      // The same machine across power-ons: its UEFI boot entries must survive.
      nvram: join(ctx.work, `${m.host}-OVMF_VARS.fd`),
    },
    ctx.accel,
    { netns: ctx.bed.ns },
  );
  ctx.vms.push(vm);
  return vm;
}

async function waitStatus(
  server: BedServer,
  host: string,
  done: (s: Status) => boolean,
  ms: number,
) {
  const deadline = Date.now() + ms;
  let s: Status = await server.json<Status>(["status", host]);
  while (!done(s) && !s.state.startsWith("failed") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 3000));
    s = await server.json<Status>(["status", host]);
  }
  return s;
}

/** Arms `action`, powers on, and waits for phase 1 to reboot without failing; returns t0. */
async function runPhase1(ctx: FlowContext, m: Machine, action: string): Promise<number> {
  const { server } = ctx;
  await server.cli(["next", m.host, action]);
  const t0 = Date.now();
  // Phase 1 ends with a reboot; -no-reboot turns that into QEMU exiting.
  const first = bootMachine(ctx, m, `${m.host}-install`);
  await first.waitFor(/AUTOMAGIC-PAYLOAD-START/, 5 * MIN);
  // Real Portage under TCG: getuto's key, the system packages and the kernel
  // with dracut take 10-13 min here; the bound leaves room for a slower machine.
  const exited = await Promise.race([
    first.exited.then(() => true),
    sleep(40 * MIN).then(() => false),
  ]);
  const afterPhase1 = await server.json<Status>(["status", m.host]);
  assert.ok(exited, `phase 1 did not reboot within 40 min: ${JSON.stringify(afterPhase1)}`);
  assert.ok(
    !afterPhase1.state.startsWith("failed"),
    `phase 1 failed: ${JSON.stringify(afterPhase1)}`,
  );
  log(`${m.host}: phase 1 done after ${secs(t0)} s`);
  return t0;
}

/** Waits for the run to end done with the host back at `local`; prints and checks the timeline. */
async function finishedRun(ctx: FlowContext, m: Machine, t0: number, action: string) {
  const status = await waitStatus(ctx.server, m.host, (s) => s.run?.status === "done", 30 * MIN);
  assert.equal(status.run?.status, "done", `run not done: ${JSON.stringify(status)}`);
  assert.equal(status.state, "local", "the host is back at `local`");
  log(`${m.host}: run done after ${secs(t0)} s`);
  // This run only: the same machine may have been installed before.
  const timeline = await fetchTimeline(ctx.server, m.host, t0 - 5000);
  process.stderr.write(
    `\n[e2e] timeline (${m.host}, ${ctx.accel.name}):\n${renderTimeline(timeline)}\n\n`,
  );
  assertChain(timeline, action);
  return timeline;
}

/** Runs the whole install; returns the running installed machine, its address and the timeline. */
export async function installMachine(
  ctx: FlowContext,
  m: Machine,
  /** install, or deploy:<image> (an install from a captured image) */
  action = "install",
): Promise<{ vm: RunningVm; ip: string; timeline: Timeline; ssh: Ssh; t0: number }> {
  const t0 = await runPhase1(ctx, m, action);
  // Power on again: the run is past phase 1, so the server must send it to its disk.
  const vm = bootMachine(ctx, m, `${m.host}-firstboot`);
  const timeline = await finishedRun(ctx, m, t0, action);
  const ip = await leaseAddress(ctx.server, m.mac);
  await waitForSsh(ctx.bed, ip, ctx.keyFile, 3 * MIN);
  const ssh: Ssh = (cmd) => sshTo(ctx.bed, ip, ctx.keyFile, cmd);
  return { vm, ip, timeline, ssh, t0 };
}

/**
 * An install whose host file says postInstall.capture: phase 2 reboots into
 * netboot (QEMU exits: -no-reboot), the next power-on gets the capture of the
 * same run, which reboots when stored; the power-on after that must get
 * `local`. The machine is left off: the installed system is checked on its
 * disk (a deploy of the same image boots it and checks it over SSH).
 */
export async function installAndCapture(
  ctx: FlowContext,
  m: Machine,
): Promise<{ timeline: Timeline; t0: number }> {
  const { server } = ctx;
  const t0 = await runPhase1(ctx, m, "install");
  const firstBoot = bootMachine(ctx, m, `${m.host}-firstboot`);
  const rebooted = await Promise.race([
    firstBoot.exited.then(() => true),
    sleep(40 * MIN).then(() => false),
  ]);
  const s = await server.json<Status>(["status", m.host]);
  assert.ok(rebooted, `phase 2 did not reboot for the capture: ${JSON.stringify(s)}`);
  assert.equal(s.run?.phase, 3, `the run waits for its capture: ${JSON.stringify(s)}`);
  log(`${m.host}: phase 2 done, rebooted for the capture after ${secs(t0)} s`);
  const cap = bootMachine(ctx, m, `${m.host}-capture`);
  const stored = await Promise.race([
    cap.exited.then(() => true),
    sleep(20 * MIN).then(() => false),
  ]);
  assert.ok(
    stored,
    `the capture did not finish: ${JSON.stringify(await server.json(["status", m.host]))}`,
  );
  log(`${m.host}: capture stored after ${secs(t0)} s`);
  const capturedAt = Date.now();
  const timeline = await finishedRun(ctx, m, t0, "install");
  // Powered on once more: the finished run sends it to its disk, not to another capture.
  const after = bootMachine(ctx, m, `${m.host}-after-capture`);
  const local = await waitTrace(
    server,
    m.host,
    (r) => r.time >= capturedAt && r.what === "boot.ipxe served",
    3 * MIN,
  );
  assert.equal(local.detail?.decision, "local", JSON.stringify(local));
  await after.kill();
  return { timeline, t0 };
}

/** The first of the host's trace rows that `match`es, polled until `ms` ran out. */
async function waitTrace(
  server: BedServer,
  host: string,
  match: (r: TraceRow) => boolean,
  ms: number,
): Promise<TraceRow> {
  const deadline = Date.now() + ms;
  for (;;) {
    const rows = (await server.json<{ trace: TraceRow[] }>(["trace", host])).trace;
    const hit = rows.find(match);
    if (hit) return hit;
    assert.ok(Date.now() < deadline, `no matching trace row for ${host} within ${ms} ms`);
    await sleep(2000);
  }
}

/** The chain in order, as the server recorded it (trace rows and run events). */
export function assertChain(tl: Timeline, action = "install"): void {
  let at = findTrace(tl, "dhcp", /offer|ack/);
  assert.ok(at >= 0, "DHCP offer traced");
  at = findTrace(tl, "http", /boot\.ipxe served/, at);
  assert.ok(at >= 0 && tl.trace[at]!.detail?.decision === action, `boot.ipxe served \`${action}\``);
  assert.ok(findTrace(tl, "http", /vmlinuz fetched/, at) > at, "kernel fetched after the script");
  assert.ok(
    findTrace(tl, "http", /initrd\.img fetched/, at) > at,
    "initrd fetched after the script",
  );
  const local = tl.trace.findIndex(
    (r, i) => i > at && r.what === "boot.ipxe served" && r.detail?.decision === "local",
  );
  assert.ok(local > at, "the power-on after phase 1 got `local`, not the installer again");
  assert.ok(
    tl.events.some((e) => e.event.phase === 1 && e.event.kind === "phase-done"),
    "phase 1 done",
  );
  assert.ok(
    tl.events.some((e) => e.event.phase === 2),
    "phase 2 reported events",
  );
  assert.ok(
    tl.events.some((e) => e.event.kind === "run-done"),
    "run-done reported",
  );
}

/** What every installed host must show while it runs, whatever its firmware and init. */
export async function assertCommonSystem(ssh: Ssh, m: Machine): Promise<void> {
  assert.equal((await ssh("hostname")).trim(), m.host);
  assert.match(await ssh("findmnt -n -o FSTYPE /home"), /ext4/);
  assert.match(await ssh("pgrep -x sshd >/dev/null && echo running"), /running/);
  await assertInstalledFiles(ssh, m);
}

/**
 * What every installed root must hold, read through `ssh` (into the
 * running system, or a chroot into its root on the host).
 */
export async function assertInstalledFiles(ssh: Ssh, m: Machine): Promise<void> {
  assert.match(await ssh("id alice"), /uid=1000\(alice\) gid=1000\(alice\)/);
  const fstab = await ssh("cat /etc/fstab");
  assert.match(fstab, new RegExp(`UUID=${m.home.uuid}\\s+/home\\s+ext4`), fstab);
  assert.match(await ssh("test -s /var/lib/automagic/overlay.manifest && echo present"), /present/);
  // Real Portage merged what a stage3 lacks and the host's packages, from the
  // signed binhost through the server (the stage3 carries none of them).
  const pkgs = await ssh("cd /var/db/pkg && ls -d */*");
  for (const p of [
    "sys-boot/grub-",
    "sys-kernel/gentoo-kernel-bin-",
    "sys-kernel/installkernel-",
    "sys-kernel/dracut-",
    "app-editors/vim-",
    "app-admin/sudo-",
  ])
    assert.ok(
      pkgs.split("\n").some((l) => l.startsWith(p)),
      `${p}* merged (have: ${pkgs})`,
    );
  assert.match(
    await ssh("cat /var/lib/portage/world"),
    /^app-editors\/vim$/m,
    "phase 2 recorded the host's packages in @world",
  );
  const ikUse = await ssh("cat /var/db/pkg/sys-kernel/installkernel-*/USE");
  assert.match(ikUse, /\bgrub\b/, "installkernel[grub]: kernel updates keep grub.cfg current");
  assert.match(ikUse, /\bdracut\b/, "installkernel[dracut]");
  assert.match(
    await ssh("ls /boot"),
    /initramfs-.*\.img/,
    "installkernel's dracut plugin made the initramfs",
  );
  assert.match(
    await ssh("test -d /etc/portage/gnupg && echo keyring"),
    /keyring/,
    "getuto's keyring",
  );
  assert.match(await ssh("test -e /var/lib/automagic/token && echo left || echo gone"), /gone/);
}

/**
 * Powers the machine off and proves /home is byte-, owner- and mode-identical
 * (but for what `allowed` matches: a capture's data/sysimgs); returns what it saw.
 */
export async function assertHomeIntact(
  ctx: FlowContext,
  ssh: Ssh,
  vm: RunningVm,
  m: Machine,
  allowed?: RegExp,
): Promise<ManifestEntry[]> {
  await ssh("sync; poweroff").catch(() => undefined);
  await Promise.race([vm.exited, sleep(90_000)]);
  await vm.kill();
  return assertHomeUnchanged(ctx, m, allowed);
}

/** With the machine off: /home's manifest against `m.home.before`; returns what it saw. */
export async function assertHomeUnchanged(
  ctx: FlowContext,
  m: Machine,
  allowed?: RegExp,
): Promise<ManifestEntry[]> {
  const after = await withMountedImage(
    m.home.file,
    join(ctx.work, `${m.host}-home-mnt`),
    (d) => manifest(d),
    {
      offset: m.home.offset,
    },
  );
  assert.deepEqual(
    diffManifests(m.home.before, after).filter((d) => !allowed?.test(d)),
    [],
    "/home is byte-, owner- and mode-identical",
  );
  return after;
}

export async function leaseAddress(server: BedServer, mac: string): Promise<string> {
  type Inv = {
    _meta: { hostvars: Record<string, { ansible_host?: string; automagic_macs?: string[] }> };
  };
  const inv = JSON.parse(await server.cli(["inventory"])) as Inv;
  for (const v of Object.values(inv._meta.hostvars)) {
    if (v.automagic_macs?.includes(mac) && v.ansible_host) return v.ansible_host;
  }
  throw new Error(`no DHCP lease for ${mac} in the inventory`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function secs(t0: number): string {
  return ((Date.now() - t0) / 1000).toFixed(0);
}
