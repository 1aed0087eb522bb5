// findCaptureRoot: the installed root on the host's disk, by its label; none,
// several or a mounted one is a refusal naming the disk or partition. Layout
// ab: the slot ab_default names, from the shared partition's grubenv.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  abCaptureLabel,
  findAbShared,
  findCaptureRoot,
} from "../../../payload/plan/capture-root.ts";
import { parseInstallSpec } from "../../../payload/spec/schema.ts";
import type { ProbedPartition, ProbedSystem } from "../../../payload/probe/types.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";

const spec = parseInstallSpec(minimalSpecInput());
const part = (n: number, extra: Partial<ProbedPartition> = {}): ProbedPartition => ({
  path: `/dev/vda${n}`,
  name: `vda${n}`,
  sizeBytes: 1 << 30,
  number: n,
  mountpoints: [],
  ...extra,
});
const probe = (parts: ProbedPartition[], serial = "QM00001"): ProbedSystem => ({
  firmware: "bios",
  ramBytes: 2 * 2 ** 30,
  availRamBytes: 1 << 30,
  disks: [
    {
      path: "/dev/vda",
      name: "vda",
      type: "disk",
      sizeBytes: 8 * 2 ** 30,
      serial,
      byId: [],
      mountpoints: [],
      partitions: parts,
    },
  ],
});

test("the partition labelled gentoo-root on the host's disk", () => {
  const root = part(2, { label: "gentoo-root", fstype: "ext4" });
  assert.equal(findCaptureRoot(spec, probe([part(1, { label: "EFI" }), root, part(3)])), root);
});

test("refusals name what is wrong", () => {
  assert.throws(
    () => findCaptureRoot(spec, probe([part(1), part(2)])),
    /no partition labelled gentoo-root on \/dev\/vda, 8589934592 bytes, serial QM00001: nothing automagic installed/,
  );
  assert.throws(
    () =>
      findCaptureRoot(
        spec,
        probe([part(1, { label: "gentoo-root" }), part(2, { label: "gentoo-root" })]),
      ),
    /2 partitions labelled gentoo-root on \/dev\/vda \(\/dev\/vda1, \/dev\/vda2\)/,
  );
  assert.throws(
    () => findCaptureRoot(spec, probe([part(2, { label: "gentoo-root", mountpoints: ["/mnt"] })])),
    /\/dev\/vda2 is mounted at \/mnt/,
  );
  assert.throws(
    () => findCaptureRoot(spec, probe([part(2, { label: "gentoo-root" })], "OTHER")),
    /no disk matches/,
  );
});

const ESP = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
const abSpec = (firmware: "bios" | "uefi", extra: Record<string, unknown> = {}) =>
  parseInstallSpec({
    ...minimalSpecInput(),
    firmware,
    layout: { mode: "ab", wipe: true, ...extra },
  });

test("layout ab: the slot ab_default names, found by its label", () => {
  const parts = [
    part(1, { parttype: "21686148-6449-6e6f-744e-656564454649" }),
    part(2, { label: "automagic-boot", fstype: "ext4" }),
    part(3, { label: "gentoo-a", fstype: "ext4" }),
    part(4, { label: "gentoo-b", fstype: "ext4" }),
  ];
  const p = probe(parts);
  const shared = findAbShared(abSpec("bios"), p);
  assert.equal(shared, parts[1]);
  const label = abCaptureLabel({ ab_default: "b", ab_trial: "" }, shared.path);
  assert.equal(label, "gentoo-b");
  assert.equal(findCaptureRoot(abSpec("bios"), p, label), parts[3]);
  // A trial in progress does not change which slot is the system.
  assert.equal(abCaptureLabel({ ab_default: "a", ab_trial: "b", ab_tries: "2" }, "x"), "gentoo-a");
});

test("layout ab: the ESP on UEFI, or the partition the layout names", () => {
  const esp = part(1, { parttype: ESP, fstype: "vfat", label: "EFI" });
  const p = probe([esp, part(2, { label: "gentoo-a" }), part(3, { label: "gentoo-b" })]);
  assert.equal(findAbShared(abSpec("uefi"), p), esp);
  const adopted = parseInstallSpec({
    ...minimalSpecInput(),
    firmware: "uefi",
    layout: {
      mode: "ab",
      slots: { a: { label: "gentoo-a" }, b: { label: "gentoo-b" } },
      esp: { label: "EFI" },
    },
  });
  assert.equal(findAbShared(adopted, p), esp);
});

test("layout ab refusals: no shared partition, no ab_default", () => {
  assert.throws(
    () => findAbShared(abSpec("bios"), probe([part(1), part(2, { label: "gentoo-a" })])),
    /no partition labelled automagic-boot on \/dev\/vda, .*: the A\/B boot state cannot be read/,
  );
  assert.throws(
    () =>
      findAbShared(abSpec("uefi"), probe([part(1, { parttype: ESP }), part(2, { parttype: ESP })])),
    /2 EFI system partitions on \/dev\/vda/,
  );
  assert.throws(
    () => abCaptureLabel(undefined, "/dev/vda2"),
    /\/dev\/vda2 has no ab_default in grub\/grubenv: which slot holds the system is not known/,
  );
  assert.throws(() => abCaptureLabel({ ab_default: "" }, "/dev/vda2"), /no ab_default/);
});
