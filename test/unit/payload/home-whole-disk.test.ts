// /home as a filesystem on a whole disk (mkfs /dev/sdb, no partition table):
// found by UUID/label like a partition, planned, and never wiped by `create`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import type { ProbedSystem } from "../../../payload/probe/types.ts";
import { mergeBlkidDisk, parseBlkidExport } from "../../../payload/probe/blkid.ts";
import { parseLsblk } from "../../../payload/probe/lsblk.ts";
import { findPartition } from "../../../payload/plan/select.ts";
import { planInstall } from "../../../payload/plan/plan.ts";
import { PlanRefusal } from "../../../payload/plan/types.ts";
import { readJson } from "../../lib/golden.ts";

const UUID = "c0ffee00-4444-4d4d-9d4d-444444444444";
const spec = (): InstallSpec =>
  parseInstallSpec(readJson("test/golden/plans/specs/ws-uefi-create-systemd.json"), "ws");

/** uefi-blank-nvme-home-sda with /home made on the whole of /dev/sda instead of sda1. */
function wholeDiskProbe(): ProbedSystem {
  const p = readJson<ProbedSystem>("test/fixtures/probe/uefi-blank-nvme-home-sda.json");
  const sda = p.disks.find((d) => d.path === "/dev/sda")!;
  delete sda.pttype;
  sda.partitions = [];
  Object.assign(sda, { fstype: "ext4", uuid: UUID, label: "home" });
  p.home!.device = "/dev/sda";
  return p;
}

test("blkid on a table-less disk with a filesystem fills fstype, UUID and label", () => {
  const disk = {
    path: "/dev/sdb",
    name: "sdb",
    type: "disk",
    sizeBytes: 1,
    byId: [],
    mountpoints: [],
    partitions: [],
  };
  const b = parseBlkidExport(
    `DEVNAME=/dev/sdb\nLABEL=home\nUUID=${UUID}\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n`,
  );
  assert.deepEqual(mergeBlkidDisk(disk, b), { ...disk, fstype: "ext4", uuid: UUID, label: "home" });
  // A partition table is a table, not a filesystem.
  assert.deepEqual(mergeBlkidDisk(disk, { PTTYPE: "gpt", PTUUID: "x" }), {
    ...disk,
    pttype: "gpt",
  });
  // RAID/LVM members are not filesystems.
  assert.deepEqual(mergeBlkidDisk(disk, { TYPE: "LVM2_member", USAGE: "raid" }), disk);
});

test("lsblk's whole-disk filesystem fields are kept for a disk without partitions", () => {
  const json = JSON.stringify({
    blockdevices: [
      {
        name: "sdb",
        path: "/dev/sdb",
        type: "disk",
        size: 1073741824,
        fstype: "ext4",
        uuid: UUID,
        label: "home",
        pttype: null,
        mountpoints: [null],
      },
    ],
  });
  const [d] = parseLsblk(json);
  assert.equal(d!.fstype, "ext4");
  assert.equal(d!.uuid, UUID);
  assert.equal(d!.label, "home");
});

test("/home on a whole disk is found by UUID and by label, and planned", () => {
  const p = wholeDiskProbe();
  assert.equal(
    findPartition({ uuid: UUID }, p, "home.ref", { wholeDisk: true }).part.path,
    "/dev/sda",
  );
  assert.equal(
    findPartition({ label: "home" }, p, "home.ref", { wholeDisk: true }).part.path,
    "/dev/sda",
  );
  const steps = planInstall(spec(), p);
  const mount = steps.find((s) => s.id === "mount-home")!;
  assert.equal(mount.device, "/dev/sda");
  const fstab = steps.find((s) => s.id === "fstab")!.action;
  assert.ok(fstab.kind === "fstab" && fstab.home.device === "/dev/sda");
  assert.ok(!steps.some((s) => s.destructive && s.device?.startsWith("/dev/sda")));
});

test("a root, ESP or swap to keep is never a whole-disk filesystem", () => {
  assert.throws(
    () => findPartition({ label: "home" }, wholeDiskProbe(), "layout.root"),
    (e: unknown) => e instanceof PlanRefusal && /no partition with label=home/.test(e.message),
  );
});

test("`create` on the disk that holds a whole-disk /home is refused", () => {
  const s = spec();
  s.disk = { serial: "WD-HOME-0001" };
  const p = wholeDiskProbe();
  p.disks.find((d) => d.path === "/dev/sda")!.serial = "WD-HOME-0001";
  assert.throws(
    () => planInstall(s, p),
    (e: unknown) =>
      e instanceof PlanRefusal &&
      e.field === "layout" &&
      /\/home \(\/dev\/sda\) is on \/dev\/sda, which a create layout wipes entirely/.test(
        e.message,
      ),
  );
});
