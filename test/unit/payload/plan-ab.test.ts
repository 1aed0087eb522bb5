// Layout ab: which slot is written (chooseSlot), golden plans for both
// shapes on both firmwares, and the mounts a live run from a slot may keep.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import type { ProbedPartition, ProbedSystem } from "../../../payload/probe/types.ts";
import { planInstall } from "../../../payload/plan/plan.ts";
import { resolveDevices } from "../../../payload/plan/layout.ts";
import { chooseSlot, keepListSlot } from "../../../payload/plan/ab.ts";
import { planTree } from "../../../payload/plan/tree.ts";
import { PlanRefusal, type Action } from "../../../payload/plan/types.ts";
import { assertGolden, readJson } from "../../lib/golden.ts";
import { renderFstab } from "../../../payload/render/fstab.ts";
import { renderGrubEnv } from "../../../payload/render/grubenv.ts";
import { readGrubEnvIn } from "../../../payload/probe/ab.ts";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const spec = (n: string): InstallSpec =>
  parseInstallSpec(readJson(`test/golden/plans/specs/${n}.json`), n);
const probe = (n: string): ProbedSystem => readJson(`test/fixtures/probe/${n}.json`);

const slot = (path: string, ...mountpoints: string[]) => ({ path, mountpoints });
const refusal = (fn: () => unknown): PlanRefusal => {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlanRefusal) return e;
    throw e;
  }
  assert.fail("expected a PlanRefusal");
};

test("chooseSlot: a first install (no ab_default) writes slot a", () => {
  const c = chooseSlot({ a: slot("/dev/vda3"), b: slot("/dev/vda4") }, undefined);
  assert.deepEqual(c, {
    slot: "a",
    other: "b",
    first: true,
    why: "first install (no ab_default in grubenv)",
  });
  assert.equal(chooseSlot({ a: slot("/x"), b: slot("/y") }, { ab_default: "" }).slot, "a");
});

test("chooseSlot: from a RAM system, the slot that is not ab_default", () => {
  const slots = { a: slot("/dev/vda3"), b: slot("/dev/vda4") };
  assert.deepEqual(chooseSlot(slots, { ab_default: "a" }), {
    slot: "b",
    other: "a",
    first: false,
    why: "slot a is the default (ab_default)",
  });
  assert.equal(chooseSlot(slots, { ab_default: "b" }).slot, "a");
  // A trial in progress (b, not confirmed) is written over: the default stays a.
  assert.equal(chooseSlot(slots, { ab_default: "a", ab_trial: "b", ab_tries: "1" }).slot, "b");
});

test("chooseSlot: running from slot b writes a, whatever ab_default says", () => {
  const c = chooseSlot({ a: slot("/dev/vda3"), b: slot("/dev/vda4", "/") }, { ab_default: "b" });
  assert.deepEqual(c, {
    slot: "a",
    other: "b",
    first: false,
    running: "b",
    why: "running from slot b (/dev/vda4 at /)",
  });
});

test("chooseSlot: refuses when the slot to write is mounted", () => {
  const r = refusal(() =>
    chooseSlot({ a: slot("/dev/vda3", "/mnt/old"), b: slot("/dev/vda4", "/") }, undefined),
  );
  assert.equal(r.field, "layout.slots.a");
  assert.match(r.reason, /slot a \(\/dev\/vda3\) is to be written but .* mounted at \/mnt\/old/);
  // From a RAM system: ab_default a means b is written, and b is mounted.
  const r2 = refusal(() =>
    chooseSlot({ a: slot("/dev/vda3"), b: slot("/dev/vda4", "/srv") }, { ab_default: "a" }),
  );
  assert.equal(r2.field, "layout.slots.b");
});

test("chooseSlot: refuses to write the confirmed slot from a slot still on trial", () => {
  const r = refusal(() =>
    chooseSlot(
      { a: slot("/dev/vda3"), b: slot("/dev/vda4", "/") },
      { ab_default: "a", ab_trial: "b", ab_tries: "2" },
    ),
  );
  assert.equal(r.field, "layout.slots");
  assert.match(r.reason, /slot b, \/dev\/vda4\) is on trial and not confirmed yet/);
});

const plans: [spec: string, probe: string][] = [
  ["ab-bios-create", "bios-blank-nvme-home-sda"],
  ["ab-uefi-create", "uefi-blank-nvme-home-sda"],
  ["ab-bios-adopt", "bios-ab-default-a"],
];

for (const [s, p] of plans) {
  test(`plan ${s} on ${p} matches the golden tree and steps`, () => {
    const steps = planInstall(spec(s), probe(p));
    const golden = `test/golden/plans/${s}--${p}`;
    assertGolden(`${golden}.tree.txt`, planTree(`install ${s} on ${p}`, steps));
    assertGolden(`${golden}.json`, JSON.stringify(steps, null, 2) + "\n");
  });
}

const action = <K extends Action["kind"]>(steps: { action: Action }[], kind: K) =>
  steps.map((x) => x.action).filter((a): a is Extract<Action, { kind: K }> => a.kind === kind);

test("ab create on BIOS: bios_grub, automagic-boot, slots named automagic-a/b; slot a written", () => {
  const steps = planInstall(spec("ab-bios-create"), probe("bios-blank-nvme-home-sda"));
  const [table] = action(steps, "partition");
  assert.deepEqual(
    table!.partitions.map((p) => [p.number, p.role, p.name ?? ""]),
    [
      [1, "bios_grub", ""],
      [2, "boot", "automagic-boot"],
      [3, "root", "automagic-a"],
      [4, "root", "automagic-b"],
    ],
  );
  assert.equal(table!.partitions[2]!.sizeBytes, table!.partitions[3]!.sizeBytes, "equal slots");
  const formats = action(steps, "format").map((f) => [f.device, f.fs, f.label]);
  assert.deepEqual(formats, [
    ["/dev/nvme0n1p2", "ext4", "automagic-boot"],
    ["/dev/nvme0n1p3", "ext4", "gentoo-a"],
  ]);
  const [boot] = action(steps, "bootloader");
  assert.deepEqual(boot!.ab, {
    slot: "a",
    shared: "/dev/nvme0n1p2",
    sharedFs: "ext4",
    tries: 2,
    first: true,
  });
  const [fstab] = action(steps, "fstab");
  assert.deepEqual(fstab!.abBoot, { device: "/dev/nvme0n1p2", fs: "ext4" });
});

test("ab adopt with ab_default a writes slot b only; the keep-list reads slot a", () => {
  const steps = planInstall(spec("ab-bios-adopt"), probe("bios-ab-default-a"));
  assert.deepEqual(
    steps.filter((s) => s.destructive).map((s) => [s.id, s.device]),
    [["format-root", "/dev/sda5"]],
  );
  assert.match(steps.find((s) => s.id === "format-root")!.title, /slot b \(\/dev\/sda5\)/);
  assert.equal(action(steps, "read-keep-list")[0]!.device, "/dev/sda4");
  assert.equal(action(steps, "bootloader")[0]!.ab?.first, false);
});

/** The adopt fixture as a live run from slot `running` sees it, with more mounted. */
function live(running: "a" | "b", extra: Record<string, string[]> = {}): ProbedSystem {
  const p = probe("bios-ab-default-a");
  const mounts: Record<string, string[]> = {
    "/dev/sda2": ["/boot/automagic"],
    "/dev/sda3": ["[SWAP]"],
    [running === "a" ? "/dev/sda4" : "/dev/sda5"]: ["/"],
    "/dev/sda6": ["/home"],
    ...extra,
  };
  for (const part of p.disks[0]!.partitions as ProbedPartition[])
    part.mountpoints = mounts[part.path] ?? [];
  return p;
}

test("ab run from slot a: its root, /home, swap and the boot partition may stay mounted", () => {
  const dev = resolveDevices(spec("ab-bios-adopt"), live("a"));
  assert.equal(dev.root, "/dev/sda5");
  assert.equal(dev.ab?.slot, "b");
  const fromB = resolveDevices(spec("ab-bios-adopt"), live("b"));
  assert.equal(fromB.root, "/dev/sda4", "running from b writes a, though ab_default is a");
});

test("ab run from a slot: the slot to write mounted anywhere is refused", () => {
  const r = refusal(() =>
    resolveDevices(spec("ab-bios-adopt"), live("a", { "/dev/sda5": ["/mnt"] })),
  );
  assert.equal(r.field, "layout.slots.b");
});

test("ab from a RAM system: /home mounted is still refused", () => {
  const p = probe("bios-ab-default-a");
  p.disks[0]!.partitions.find((x) => x.path === "/dev/sda6")!.mountpoints = ["/home"];
  assert.equal(refusal(() => resolveDevices(spec("ab-bios-adopt"), p)).field, "disk");
});

test("ab adopt on BIOS without the shared partition named is refused", () => {
  const s = spec("ab-bios-adopt");
  if (s.layout.mode === "ab") delete s.layout.boot;
  const r = refusal(() => resolveDevices(s, probe("bios-ab-default-a")));
  assert.equal(r.field, "layout.boot");
});

test("ab adopt: a slot that is the /home partition is refused", () => {
  const s = spec("ab-bios-adopt");
  if (s.layout.mode === "ab") s.layout.slots = { a: { label: "home" }, b: { label: "gentoo-b" } };
  assert.equal(
    refusal(() => resolveDevices(s, probe("bios-ab-default-a"))).field,
    "layout.slots.a",
  );
});

test("fstab under ab on BIOS mounts the shared partition at /boot/automagic", () => {
  const text = renderFstab({
    root: { uuid: "R", fs: "ext4" },
    abBoot: { uuid: "B", fs: "ext4" },
    home: { uuid: "H", fs: "ext4", options: "defaults" },
  });
  assert.match(text, /^UUID=B +\/boot\/automagic +ext4 +defaults,noatime +0 +2$/m);
});

test("probe: grub/grubenv read from the shared partition's files; absent is no state", async () => {
  const dir = await mkdtemp(join(tmpdir(), "am-grubenv-"));
  try {
    assert.deepEqual(await readGrubEnvIn(dir), {});
    await mkdir(join(dir, "grub"));
    await writeFile(join(dir, "grub/grubenv"), renderGrubEnv({ ab_default: "a", ab_trial: "" }));
    assert.deepEqual(await readGrubEnvIn(dir), { env: { ab_default: "a", ab_trial: "" } });
    await writeFile(join(dir, "grub/grubenv"), "not a block\n");
    assert.match((await readGrubEnvIn(dir)).error ?? "", /^grub\/grubenv: .*header/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("ab adopt: a boot state that could not be read is refused, not taken for a first install", () => {
  const p = probe("bios-ab-default-a");
  p.ab = { shared: "/dev/sda2", error: "mount: unknown filesystem type" };
  const r = refusal(() => resolveDevices(spec("ab-bios-adopt"), p));
  assert.equal(r.field, "layout.boot");
  assert.match(r.reason, /could not be read \(mount: unknown filesystem type\)/);
});

test("keepListSlot: the slot left alone; on a first install with the other slot blank, the old OS in the slot written", () => {
  const has = { fstype: "ext4" };
  const blank = {};
  const first = { slot: "a", other: "b", first: true } as const;
  assert.equal(keepListSlot({ a: has, b: has }, first), "b");
  assert.equal(keepListSlot({ a: has, b: blank }, first), "a");
  assert.equal(keepListSlot({ a: blank, b: blank }, first), undefined);
  // Not a first install: the slot written is never the keep-list's source, even if the other is blank.
  assert.equal(
    keepListSlot({ a: blank, b: has }, { slot: "b", other: "a", first: false }),
    undefined,
  );
});

test("ab adopt, first install, old OS in slot a and b blank: the keep-list reads slot a before it is formatted", () => {
  const p = probe("bios-ab-default-a");
  delete p.ab;
  const b = (p.disks[0]!.partitions as ProbedPartition[]).find((x) => x.path === "/dev/sda5")!;
  delete b.fstype;
  p.oldRoot = { ...p.oldRoot!, device: "/dev/sda4" };
  const steps = planInstall(spec("ab-bios-adopt"), p);
  const keep = steps.find((s) => s.id === "read-keep-list")!;
  assert.equal(keep.device, "/dev/sda4");
  assert.match(keep.title, /slot a/);
  assert.equal(steps.find((s) => s.id === "format-root")!.device, "/dev/sda4");
  assert.ok(
    steps.findIndex((s) => s.id === "read-keep-list") <
      steps.findIndex((s) => s.id === "format-root"),
    "read before it is formatted",
  );
  assert.equal(action(steps, "bootloader")[0]!.ab?.first, true);
});
