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
import { fetchTimeline, findTrace, renderTimeline, type Timeline } from "./timeline.ts";

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

/** Runs the whole install; returns the running installed machine, its address and the timeline. */
export async function installMachine(
  ctx: FlowContext,
  m: Machine,
  /** install, or deploy:<image> (an install from a captured image) */
  action = "install",
  /** The host file has postInstall.capture: phase 2 reboots into the capture of the same run. */
  opts: { captureAfter?: boolean } = {},
): Promise<{ vm: RunningVm; ip: string; timeline: Timeline; ssh: Ssh; t0: number }> {
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

  // Power on again: the run is past phase 1, so the server must send it to its disk.
  let vm = bootMachine(ctx, m, `${m.host}-firstboot`);
  if (opts.captureAfter) {
    // Phase 2 ends with a reboot into netboot (QEMU exits: -no-reboot); the
    // next power-on gets the capture of the same run, which reboots when stored.
    const rebooted = await Promise.race([
      vm.exited.then(() => true),
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
    vm = bootMachine(ctx, m, `${m.host}-after-capture`);
  }
  const status = await waitStatus(server, m.host, (s) => s.run?.status === "done", 30 * MIN);
  assert.equal(status.run?.status, "done", `run not done: ${JSON.stringify(status)}`);
  assert.equal(status.state, "local", "the host is back at `local`");
  log(`${m.host}: run done after ${secs(t0)} s`);

  // This run only: the same machine may have been installed before.
  const timeline = await fetchTimeline(server, m.host, t0 - 5000);
  process.stderr.write(
    `\n[e2e] timeline (${m.host}, ${ctx.accel.name}):\n${renderTimeline(timeline)}\n\n`,
  );
  assertChain(timeline, action);

  const ip = await leaseAddress(server, m.mac);
  // After a capture the installed system has only just been powered on again.
  await waitForSsh(ctx.bed, ip, ctx.keyFile, (opts.captureAfter ? 20 : 3) * MIN);
  const ssh: Ssh = (cmd) => sshTo(ctx.bed, ip, ctx.keyFile, cmd);
  return { vm, ip, timeline, ssh, t0 };
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

/** What every installed host must show, whatever its firmware and init. */
export async function assertCommonSystem(ssh: Ssh, m: Machine): Promise<void> {
  assert.equal((await ssh("hostname")).trim(), m.host);
  assert.match(await ssh("id alice"), /uid=1000\(alice\) gid=1000\(alice\)/);
  const fstab = await ssh("cat /etc/fstab");
  assert.match(fstab, new RegExp(`UUID=${m.home.uuid}\\s+/home\\s+ext4`), fstab);
  assert.match(await ssh("findmnt -n -o FSTYPE /home"), /ext4/);
  assert.match(await ssh("pgrep -x sshd >/dev/null && echo running"), /running/);
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
