// The payload refuses the wrong machine (BOOTIF not one of the spec's MACs)
// and the wrong device (a kernel name that points at another disk or
// partition than the probe saw, a kept root that is a LUKS/LVM/RAID member).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import type { ProbedSystem } from "../../../payload/probe/types.ts";
import { bootifMac, netbooted } from "../../../payload/probe/cmdline.ts";
import { parseWipefsTypes } from "../../../payload/probe/blkid.ts";
import { checkBootMac } from "../../../payload/plan/checks.ts";
import { planInstall } from "../../../payload/plan/plan.ts";
import { PlanRefusal, type Action, type Step } from "../../../payload/plan/types.ts";
import {
  containerProblem,
  diskChanged,
  partitionChanged,
  type DiskIdentity,
} from "../../../payload/plan/identity.ts";
import { runPhase1 } from "../../../payload/install.ts";
import { format, partition } from "../../../payload/steps/disk.ts";
import { CommandError } from "../../../shared/command-error.ts";
import { type CommandRunner } from "../../../payload/run/runner.ts";
import type { RunContext } from "../../../payload/run/context.ts";
import type { RunEvent } from "../../../payload/spec/events.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";
import { readJson } from "../../lib/golden.ts";

const spec = (n: string): InstallSpec =>
  parseInstallSpec(readJson(`test/golden/plans/specs/${n}.json`), n);
const probe = (n: string): ProbedSystem => readJson(`test/fixtures/probe/${n}.json`);
const web1 = () => parseInstallSpec(minimalSpecInput(), "web1");

function action<K extends Action["kind"]>(steps: Step[], id: string, kind: K) {
  const s = steps.find((x) => x.id === id);
  assert.ok(s && s.action.kind === kind, `no ${kind} step ${id}`);
  return s.action as Extract<Action, { kind: K }>;
}

/** A runner that answers from a script (first matching prefix) and records every command. */
function scripted(answers: [string, string | number][]): CommandRunner & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async run(cmd) {
      const line = cmd.join(" ");
      calls.push(line);
      const hit = answers.find(([prefix]) => line.startsWith(prefix));
      if (!hit) return { stdout: "", stderr: "" };
      if (typeof hit[1] === "number") throw new CommandError(line, hit[1], "");
      return { stdout: hit[1], stderr: "" };
    },
  };
}

const ctxWith = (runner: CommandRunner) =>
  ({ runner, uuids: new Map(), step: "", log: () => {} }) as unknown as RunContext;

const lsblkDisk = (name: string, serial: string | null, size: number) =>
  JSON.stringify({
    blockdevices: [{ name, path: `/dev/${name}`, type: "disk", size, serial }],
  });

const wipefsJson = (...types: string[]) =>
  JSON.stringify({ signatures: types.map((type) => ({ device: "x", offset: "0x0", type })) });

test("BOOTIF on the kernel command line is the MAC the spec is checked against", () => {
  assert.equal(
    bootifMac("console=ttyS0 automagic.url=http://s BOOTIF=01-52-54-00-AB-cd-0F quiet"),
    "52:54:00:ab:cd:0f",
  );
  assert.equal(bootifMac("BOOTIF=01-52-54-00-12"), undefined);
  assert.equal(bootifMac("BOOTIF=06-52-54-00-12-34-56"), undefined);
  assert.equal(bootifMac("quiet"), undefined);
  assert.ok(netbooted("x automagic.url=http://10.0.0.1:8080 y"));
  assert.ok(!netbooted("BOOTIF=01-52-54-00-12-34-56"));
});

test("another machine's BOOTIF is refused naming both; a listed MAC passes; a netboot without BOOTIF is refused", () => {
  const s = web1();
  assert.throws(
    () => checkBootMac(s, "52:54:00:99:99:99"),
    (e: unknown) =>
      e instanceof PlanRefusal &&
      e.field === "macs" &&
      e.message.includes("52:54:00:99:99:99") &&
      e.message.includes("52:54:00:12:34:56"),
  );
  checkBootMac(s, "52:54:00:12:34:56");
  checkBootMac(s, undefined); // started by hand: no BOOTIF to compare
  assert.throws(() => checkBootMac(s, undefined, true), /no BOOTIF.*52:54:00:12:34:56/);
  // The plan itself refuses a probe that saw another boot NIC (a --dry-run shows it too).
  const p = structuredClone(probe("bios-keep-sda"));
  p.bootNic = { mac: "52:54:00:99:99:99", name: "enp1s0" };
  assert.throws(() => planInstall(spec("lab-bios-openrc"), p), /macs: .*52:54:00:99:99:99/);
});

test("phase 1 on a machine whose BOOTIF is not the spec's: a step-fail naming both MACs, exit 2, not one command run", async () => {
  const events: RunEvent[] = [];
  const f = (async (url: string, init?: { method?: string; body?: string }) => {
    if (init?.method === "POST") {
      events.push(...(JSON.parse(init.body!) as { events: RunEvent[] }).events);
      return new Response("{}");
    }
    assert.match(String(url), /\/api\/v1\/run\/tok\/spec$/);
    return Response.json(minimalSpecInput());
  }) as unknown as typeof fetch;
  const runner = scripted([]);
  const code = await runPhase1({
    server: "http://srv",
    token: "tok",
    cmdline: "automagic.url=http://srv automagic.token=tok BOOTIF=01-52-54-00-99-99-99",
    runner,
    fetch: f,
    write: () => {},
    stateDir: "/nonexistent/automagic-state",
  });
  assert.equal(code, 2);
  assert.deepEqual(runner.calls, [], "nothing may run (not even lsblk) on the wrong machine");
  const fail = events.find((e) => e.kind === "step-fail");
  assert.ok(fail, JSON.stringify(events));
  assert.equal(fail.step, "plan");
  assert.match(fail.message!, /52:54:00:99:99:99 \(BOOTIF\).*52:54:00:12:34:56/);
});

test("the plan records what each destructive step's device must still be", () => {
  const keep = planInstall(spec("lab-bios-openrc"), probe("bios-keep-sda"));
  const root = action(keep, "format-root", "format");
  assert.deepEqual(root.expect, { partuuid: "0a1b2c3d-0000-4000-8000-000000000002" });
  assert.equal(root.refuseContainers, true);

  const p = probe("uefi-blank-nvme-home-sda");
  const create = planInstall(spec("ws-uefi-create-systemd"), p);
  const disk: DiskIdentity = { serial: "PHKS1234ABCD", sizeBytes: p.disks[0]!.sizeBytes };
  assert.deepEqual(action(create, "partition", "partition").expect, disk);
  assert.deepEqual(action(create, "format-esp", "format").expect, { disk, number: 1 });
  const newRoot = action(create, "format-root", "format");
  assert.deepEqual(newRoot.expect, { disk, number: 3 });
  assert.equal(newRoot.refuseContainers, undefined, "create wipes the whole disk by consent");
});

test("a kept root that is a LUKS container, an LVM PV or a RAID member is refused by the plan, naming it", () => {
  for (const [sig, what] of [
    ["crypto_LUKS", "a LUKS container"],
    ["LVM2_member", "an LVM physical volume"],
    ["linux_raid_member", "a Linux md RAID member"],
    ["isw_raid_member", "a firmware RAID member"],
  ]) {
    const p = structuredClone(probe("bios-keep-sda"));
    p.disks[0]!.partitions[1]!.fstype = sig;
    delete p.oldRoot;
    assert.throws(
      () => planInstall(spec("lab-bios-openrc"), p),
      (e: unknown) =>
        e instanceof PlanRefusal &&
        e.field === "layout.root" &&
        e.message.includes(`/dev/sda2 holds ${what} (signature ${sig})`),
    );
  }
  const p = structuredClone(probe("bios-keep-sda"));
  delete p.disks[0]!.partitions[1]!.partuuid;
  assert.throws(() => planInstall(spec("lab-bios-openrc"), p), /\/dev\/sda2 has no PARTUUID/);
});

test("identity checks name the device, the expected identity and what is there now", () => {
  const want: DiskIdentity = { serial: "S1", sizeBytes: 100 };
  assert.equal(diskChanged("/dev/sda", want, { serial: "S1", sizeBytes: 100 }), undefined);
  assert.equal(
    diskChanged("/dev/sda", want, { serial: "S2", sizeBytes: 100 }),
    "/dev/sda is no longer the disk the plan was made for: expected serial S1, 100 bytes; now serial S2, 100 bytes; refusing to write it",
  );
  assert.match(diskChanged("/dev/sda", want, undefined)!, /now no such disk/);
  assert.match(
    diskChanged("/dev/loop3", { backingFile: "/a.img", sizeBytes: 9 }, { sizeBytes: 9 })!,
    /expected backing file \/a\.img, 9 bytes; now 9 bytes/,
  );
  assert.equal(
    diskChanged(
      "/dev/sdb",
      { wwn: "0x5000C500A", sizeBytes: 1 },
      { wwn: "5000c500a", sizeBytes: 1 },
    ),
    undefined,
  );

  const kept = { partuuid: "AAAA-1" };
  assert.equal(
    partitionChanged("/dev/sda2", kept, { partuuid: "aaaa-1", signatures: ["ext4"] }),
    undefined,
  );
  assert.equal(
    partitionChanged("/dev/sda2", kept, { partuuid: "bbbb-2", signatures: ["crypto_LUKS"] }),
    "/dev/sda2 is no longer the partition the plan was made for: expected PARTUUID AAAA-1; now PARTUUID bbbb-2, holding crypto_LUKS; refusing to wipe it",
  );
  const fresh = { disk: want, number: 3 };
  assert.equal(
    partitionChanged("/dev/sda3", fresh, { number: 3, disk: want, signatures: [] }),
    undefined,
  );
  assert.match(
    partitionChanged("/dev/sda3", fresh, {
      partuuid: "cc",
      number: 3,
      disk: { serial: "OTHER", sizeBytes: 100 },
      signatures: [],
    })!,
    /expected partition 3 of the disk with serial S1, 100 bytes; now PARTUUID cc, partition 3 of the disk with serial OTHER, 100 bytes, no signature on it/,
  );
  assert.match(partitionChanged("/dev/sda3", fresh, undefined)!, /now no such partition/);
});

test("LUKS, LVM and every RAID member signature is a container; filesystems and swap are not", () => {
  for (const [sig, what] of [
    ["crypto_LUKS", "a LUKS container"],
    ["LVM2_member", "an LVM physical volume"],
    ["linux_raid_member", "a Linux md RAID member"],
    ["isw_raid_member", "a firmware RAID member"],
    ["ddf_raid_member", "a firmware RAID member"],
  ] as const) {
    assert.match(
      containerProblem("/dev/sda2", ["ext4", sig])!,
      new RegExp(`^/dev/sda2 holds ${what} \\(signature ${sig}\\);`),
    );
  }
  for (const plain of [[], ["ext4"], ["btrfs", "swap"], ["xfs", "PMBR"]])
    assert.equal(containerProblem("/dev/sda2", plain), undefined);
  assert.deepEqual(parseWipefsTypes(wipefsJson("crypto_LUKS", "crypto_LUKS")), [
    "crypto_LUKS",
    "crypto_LUKS",
  ]);
  assert.deepEqual(parseWipefsTypes(""), []);
});

test("format reads the partition again and refuses before wipefs when its PARTUUID changed", async () => {
  const r = scripted([
    ["lsblk -n -d -o PKNAME /dev/sdz2", "sdz\n"],
    ["blkid -p -o export -u", "PART_ENTRY_UUID=bbbb-2\nPART_ENTRY_NUMBER=2\n"],
    ["lsblk -J -b -O -d /dev/sdz", lsblkDisk("sdz", "S1", 100)],
    ["wipefs --no-act --json /dev/sdz2", wipefsJson("xfs")],
  ]);
  const a = { kind: "format", device: "/dev/sdz2", fs: "ext4", expect: { partuuid: "aaaa-1" } };
  await assert.rejects(
    format(a as Extract<Action, { kind: "format" }>, ctxWith(r), {} as Step),
    /^Error: \/dev\/sdz2 is no longer the partition the plan was made for: expected PARTUUID aaaa-1; now PARTUUID bbbb-2, partition 2 of the disk with serial S1, 100 bytes, holding xfs; refusing to wipe it$/,
  );
  assert.ok(!r.calls.some((c) => /^(wipefs --all|mkfs)/.test(c)), r.calls.join("\n"));
});

test("format of a kept root refuses a LUKS signature before wipefs; a gone partition is refused too", async () => {
  const luks = scripted([
    ["lsblk -n -d -o PKNAME", "sdz\n"],
    ["blkid -p -o export -u", "PART_ENTRY_UUID=aaaa-1\nPART_ENTRY_NUMBER=2\n"],
    ["lsblk -J -b -O -d /dev/sdz", lsblkDisk("sdz", "S1", 100)],
    ["wipefs --no-act --json", wipefsJson("crypto_LUKS", "crypto_LUKS")],
  ]);
  const a = {
    kind: "format",
    device: "/dev/sdz2",
    fs: "ext4",
    expect: { partuuid: "aaaa-1" },
    refuseContainers: true,
  } as Extract<Action, { kind: "format" }>;
  await assert.rejects(
    format(a, ctxWith(luks), {} as Step),
    /\/dev\/sdz2 holds a LUKS container \(signature crypto_LUKS\)/,
  );
  assert.ok(!luks.calls.some((c) => /^(wipefs --all|mkfs)/.test(c)), luks.calls.join("\n"));

  const gone = scripted([["lsblk -n -d -o PKNAME", 32]]);
  await assert.rejects(format(a, ctxWith(gone), {} as Step), /now no such partition/);
  assert.deepEqual(gone.calls, ["lsblk -n -d -o PKNAME /dev/sdz2"]);
});

test("partition reads the disk again and refuses before wipefs/sgdisk when it is another disk", async () => {
  const r = scripted([["lsblk -J -b -O -d /dev/sdz", lsblkDisk("sdz", "S2", 100)]]);
  const a: Extract<Action, { kind: "partition" }> = {
    kind: "partition",
    disk: "/dev/sdz",
    expect: { serial: "S1", sizeBytes: 100 },
    firmware: "bios",
    partitions: [{ number: 1, role: "root" }],
  };
  await assert.rejects(
    partition(a, ctxWith(r), {} as Step),
    /\/dev\/sdz is no longer the disk the plan was made for: expected serial S1, 100 bytes; now serial S2, 100 bytes/,
  );
  assert.deepEqual(r.calls, ["lsblk -J -b -O -d /dev/sdz"]);
});
