// The short safety checks an install bed runs before its install: a machine
// nobody armed (unknown MAC, or known and unarmed) netboots, gets `local` and
// keeps its disk byte for byte; an armed `rescue` brings up sshd with root's
// key from the host file and touches no disk. They run in the UEFI lane (the
// shorter one) on SeaBIOS VMs: both DHCP modes hand out the same decisions.
import assert from "node:assert/strict";
import { join } from "node:path";
import { execa } from "execa";
import { startVm, makeRawDisk, type RunningVm } from "../../lib/qemu.ts";
import { sha256File } from "./disks.ts";
import { sshTo, waitForSsh } from "./ssh.ts";
import type { InstallBed } from "./install-bed.ts";

const MIN = 60_000;

function bootBiosVm(
  b: InstallBed,
  name: string,
  mac: string,
  disk: { file: string; serial: string },
  tap: string,
  memMiB = 512,
): RunningVm {
  const vm = startVm(
    {
      name,
      firmware: "bios",
      mac,
      memMiB,
      disks: [disk],
      tap,
      netbootFirst: true,
      workDir: b.work,
    },
    b.accel,
    { netns: b.bed.ns },
  );
  b.vms.push(vm);
  return vm;
}

/** A 64 MiB disk with one partition, and its sha256. */
async function scratchDisk(file: string, partitioned: boolean): Promise<string> {
  await makeRawDisk(file, 64 * 1024 * 1024);
  if (partitioned) await execa("sgdisk", ["-Z", "-n", "1:2048:0", "-c", "1:data", file]);
  return sha256File(file);
}

/** An unknown MAC and `unarmed` (a known host nobody armed) end at `local`, disks untouched. */
export async function checkUnarmedMachines(
  b: InstallBed,
  opts: {
    unknownMac: string;
    unarmed: { host: string; mac: string; serial: string };
    taps: [string, string];
  },
): Promise<void> {
  const unknownDisk = join(b.work, "unknown.img");
  const unarmedDisk = join(b.work, "unarmed.img");
  const sums = [await scratchDisk(unknownDisk, false), await scratchDisk(unarmedDisk, true)];
  const unknown = bootBiosVm(
    b,
    "unknown",
    opts.unknownMac,
    { file: unknownDisk, serial: "AM-UNKNOWN" },
    opts.taps[0],
  );
  const unarmed = bootBiosVm(
    b,
    "unarmed",
    opts.unarmed.mac,
    { file: unarmedDisk, serial: opts.unarmed.serial },
    opts.taps[1],
  );
  // The script says `exit`: iPXE hands back to SeaBIOS, which moves on to the disk.
  const handedBack = /No more network devices[\s\S]*(Booting from Hard Disk|No bootable device)/;
  await Promise.all([unknown.waitFor(handedBack, 3 * MIN), unarmed.waitFor(handedBack, 3 * MIN)]);
  await unknown.kill();
  await unarmed.kill();
  assert.deepEqual([await sha256File(unknownDisk), await sha256File(unarmedDisk)], sums);

  const unknownTrace = await b.server.json<{
    trace: Array<{ what: string; detail?: { decision?: string } }>;
  }>(["trace", opts.unknownMac]);
  const served = unknownTrace.trace.filter((r) => r.what === "boot.ipxe served");
  assert.ok(served.length > 0, "the unknown MAC's boot.ipxe request is traced");
  assert.ok(
    served.every((r) => r.detail?.decision === "local"),
    JSON.stringify(served),
  );
  const discovered = await b.server.json<Array<{ mac: string }>>(["hosts", "discovered"]);
  assert.ok(
    discovered.some((d) => d.mac === opts.unknownMac),
    "the unknown MAC is listed as discovered",
  );
  const unarmedStatus = await b.server.json<{ state: string }>(["status", opts.unarmed.host]);
  assert.equal(unarmedStatus.state, "local");
}

/** Arm rescue for `host`: sshd with root's key from its host file, run done, disk untouched. */
export async function checkRescue(
  b: InstallBed,
  m: { host: string; mac: string; serial: string; tap: string },
): Promise<void> {
  const disk = join(b.work, "rescue.img");
  const before = await scratchDisk(disk, true);
  await b.server.cli(["next", m.host, "rescue"]);
  // 1 GiB: the RAM system (the unarmed machines only ever reach iPXE).
  const vm = bootBiosVm(b, "rescue", m.mac, { file: disk, serial: m.serial }, m.tap, 1024);
  const upLine = /rescue system up: ssh root@(\S+) \(root's keys (\S+)\)/;
  const up = await vm.waitFor(upLine, 6 * MIN);
  const [, ip, keys] = upLine.exec(up)!;
  assert.equal(keys, "installed", up.slice(-2000));
  // The console line comes as the event is sent: give the server a moment.
  let status = { state: "" } as { state: string; run?: { status: string } };
  for (let i = 0; i < 30 && status.state !== "local"; i++) {
    if (i) await new Promise((r) => setTimeout(r, 1000));
    status = await b.server.json(["status", m.host]);
  }
  assert.deepEqual([status.state, status.run?.status], ["local", "done"]);
  await waitForSsh(b.bed, ip!, b.keyFile, 2 * MIN);
  const seen = await sshTo(b.bed, ip!, b.keyFile, "cat /run/automagic/rescue-keys.done");
  assert.equal(seen.trim(), "ok", "logged in with the key from the host file");
  await vm.kill();
  assert.equal(await sha256File(disk), before, "rescue touched no disk");
}
