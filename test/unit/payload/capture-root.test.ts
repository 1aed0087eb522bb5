// findCaptureRoot: the installed root on the host's disk, by its label; none,
// several or a mounted one is a refusal naming the disk or partition.
import { test } from "node:test";
import assert from "node:assert/strict";
import { findCaptureRoot } from "../../../payload/plan/capture-root.ts";
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
