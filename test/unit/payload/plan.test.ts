import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import type { ProbedSystem } from "../../../payload/probe/types.ts";
import { planInstall } from "../../../payload/plan/plan.ts";
import { planTree } from "../../../payload/plan/tree.ts";
import { PlanRefusal } from "../../../payload/plan/types.ts";
import { assertGolden, readJson } from "../../lib/golden.ts";

const spec = (n: string): InstallSpec =>
  parseInstallSpec(readJson(`test/golden/plans/specs/${n}.json`), n);
const probe = (n: string): ProbedSystem => readJson(`test/fixtures/probe/${n}.json`);
const clone = <T>(x: T): T => structuredClone(x);

const plans: [string, string, string][] = [
  ["lab-bios-openrc", "bios-keep-sda", "lab-bios-openrc--bios-keep-sda"],
  ["lab-bios-openrc", "bios-keep-lowram", "lab-bios-openrc--bios-keep-lowram"],
  [
    "ws-uefi-create-systemd",
    "uefi-blank-nvme-home-sda",
    "ws-uefi-create-systemd--uefi-blank-nvme-home-sda",
  ],
  ["nuc-uefi-keep-openrc", "uefi-keep-nvme", "nuc-uefi-keep-openrc--uefi-keep-nvme"],
];

for (const [s, p, golden] of plans) {
  test(`plan ${s} on ${p} matches the golden tree and steps`, () => {
    const steps = planInstall(spec(s), probe(p));
    assertGolden(`test/golden/plans/${golden}.tree.txt`, planTree(`install ${s} on ${p}`, steps));
    assertGolden(`test/golden/plans/${golden}.json`, JSON.stringify(steps, null, 2) + "\n");
  });
}

test("nothing is destroyed before fetch+verify and the keep-list", () => {
  for (const [s, p] of plans) {
    const steps = planInstall(spec(s), probe(p));
    const firstDestroy = steps.findIndex((x) => x.destructive);
    const lastPrepare = steps.map((x) => x.group).lastIndexOf("prepare");
    assert.ok(firstDestroy > lastPrepare, `${s}: a destructive step precedes preparation`);
    assert.equal(steps[0]!.id, "fetch-verify");
    // /home is mounted only after extraction, so tar never touches its top directory.
    assert.ok(
      steps.findIndex((x) => x.id === "mount-home") >
        steps.findIndex((x) => x.id === "extract-stage3"),
    );
  }
});

test("low RAM stages the downloads on /home and says why", () => {
  const steps = planInstall(spec("lab-bios-openrc"), probe("bios-keep-lowram"));
  const a = steps[0]!.action;
  assert.ok(a.kind === "fetch-verify" && a.staging.where === "home");
});

// Each refusal: a spec/probe edit and the exact reason it must give.
const refusals: [string, string, string, (s: InstallSpec, p: ProbedSystem) => void][] = [
  ["firmware mismatch", "lab-bios-openrc", "bios-keep-sda", (s) => void (s.firmware = "uefi")],
  ["disk not found", "lab-bios-openrc", "bios-keep-sda", (s) => void (s.disk = { serial: "NOPE" })],
  [
    "ambiguous disk",
    "ws-uefi-create-systemd",
    "uefi-two-blank-nvme",
    (s) => void (s.disk = { minBytes: 200 * 2 ** 30, maxBytes: 300 * 2 ** 30 }),
  ],
  [
    "home inside paved root",
    "lab-bios-openrc",
    "bios-keep-sda",
    (s) => void (s.layout = { mode: "keep", root: { label: "home" } }),
  ],
  [
    "home on a disk a create layout wipes",
    "lab-bios-openrc",
    "bios-keep-sda",
    (s) => void (s.layout = { mode: "create", wipe: true, espBytes: 1, swapBytes: 0 }),
  ],
  [
    "create layout not marked wipeable",
    "ws-uefi-create-systemd",
    "uefi-blank-nvme-home-sda",
    (s) => void ((s.layout as { wipe: unknown }).wipe = false),
  ],
  [
    "disk too small",
    "ws-uefi-create-systemd",
    "uefi-blank-nvme-home-sda",
    (_s, p) => void (p.disks[0]!.sizeBytes = 10 * 2 ** 30),
  ],
  [
    "root partition too small",
    "lab-bios-openrc",
    "bios-keep-sda",
    (_s, p) => void (p.disks[0]!.partitions[1]!.sizeBytes = 2 ** 30),
  ],
  ["disk mounted by the running system", "lab-bios-openrc", "bios-sda-mounted", () => {}],
  [
    "home owner contradicts uid",
    "lab-bios-openrc",
    "bios-keep-sda",
    (s) => void (s.users[1]!.uid = 1002),
  ],
  [
    "home owner contradicts gid",
    "lab-bios-openrc",
    "bios-keep-sda",
    (s) => void (s.users[0]!.gid = 100),
  ],
  [
    "keep password on a blank disk",
    "ws-uefi-create-systemd",
    "uefi-blank-nvme-home-sda",
    (s) => void (s.users[0]!.password = "keep"),
  ],
  [
    "keep host keys on a blank disk",
    "ws-uefi-create-systemd",
    "uefi-blank-nvme-home-sda",
    (s) => void (s.keepSshHostKeys = true),
  ],
  [
    "keep password of a user the old root lacks",
    "lab-bios-openrc",
    "bios-keep-sda",
    (_s, p) => void (p.oldRoot!.accounts = p.oldRoot!.accounts.filter((a) => a.name !== "alice")),
  ],
  [
    "home partition missing",
    "lab-bios-openrc",
    "bios-keep-sda",
    (s) => void (s.home.ref = { label: "nothome" }),
  ],
  ["home fs differs", "lab-bios-openrc", "bios-keep-sda", (s) => void (s.home.fs = "xfs")],
  [
    "BIOS on GPT without a BIOS boot partition",
    "lab-bios-openrc",
    "bios-keep-sda",
    (_s, p) => void (p.disks[0]!.partitions[0]!.parttype = "0fc63daf-8483-4772-8e79-3d69d8477de4"),
  ],
  [
    "UEFI keep layout without an ESP",
    "nuc-uefi-keep-openrc",
    "uefi-keep-nvme",
    (s) => void (s.layout = { mode: "keep", root: { partlabel: "root" } }),
  ],
  [
    "no room to stage downloads",
    "lab-bios-openrc",
    "bios-keep-lowram",
    (_s, p) => void (p.home!.freeBytes = 1000),
  ],
  [
    "binhost without a URL",
    "lab-bios-openrc",
    "bios-keep-sda",
    (s) => void delete s.portage.binhostUrl,
  ],
  [
    "firmware whose licence is not accepted",
    "nuc-uefi-keep-openrc",
    "uefi-keep-nvme",
    (s) => void (s.portage.license = ["sys-kernel/linux-firmware linux-fw-redistributable"]),
  ],
  [
    "netbooted from a MAC the spec does not list",
    "lab-bios-openrc",
    "bios-keep-sda",
    (_s, p) => void (p.bootNic = { mac: "52:54:00:99:99:99", name: "enp1s0" }),
  ],
  ...(["crypto_LUKS", "LVM2_member", "linux_raid_member"] as const).map(
    (sig): (typeof refusals)[number] => [
      `kept root holds ${sig}`,
      "lab-bios-openrc",
      "bios-keep-sda",
      (_s, p) => {
        p.disks[0]!.partitions[1]!.fstype = sig;
        delete p.oldRoot; // it does not mount
      },
    ],
  ),
  [
    "kept root without a PARTUUID",
    "lab-bios-openrc",
    "bios-keep-sda",
    (_s, p) => void delete p.disks[0]!.partitions[1]!.partuuid,
  ],
];

test("every refusal names its field and reason (golden)", () => {
  const out: string[] = [];
  for (const [what, s, p, edit] of refusals) {
    const sp = clone(spec(s));
    const pr = clone(probe(p));
    edit(sp, pr);
    let err: unknown;
    try {
      planInstall(sp, pr);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof PlanRefusal, `${what}: expected a PlanRefusal, got ${String(err)}`);
    out.push(`${what}\n  ${err.message}\n`);
  }
  assertGolden("test/golden/plans/refusals.txt", out.join("\n"));
});

test("deploy: the image replaces stage3 and snapshot, fetched and verified before anything is paved; the rest is the install", () => {
  const s = spec("ws-uefi-create-systemd");
  const p = clone(probe("uefi-blank-nvme-home-sda"));
  p.downloads = {
    stage3Bytes: 0,
    snapshotBytes: 0,
    sysimg: { name: "ws1-20261127T170509Z", bytes: 300 << 20 },
  };
  const install = planInstall(s, probe("uefi-blank-nvme-home-sda")).map((x) => x.id);
  const steps = planInstall(s, p, { deploy: { image: "ws1-20261127T170509Z" } });
  const ids = steps.map((x) => x.id);
  assert.deepEqual(
    ids,
    install.map((id) =>
      id === "fetch-verify" ? "fetch-sysimg" : id === "extract-stage3" ? "extract-sysimg" : id,
    ),
  );
  assert.ok(steps.findIndex((x) => x.destructive) > ids.indexOf("fetch-sysimg"));
  assert.match(
    steps[0]!.detail.join("\n"),
    /system image ws1-20261127T170509Z 300 MiB from the server/,
  );
  const portage = steps.find((x) => x.id === "portage")!.action;
  assert.ok(
    portage.kind === "portage" && portage.snapshot === false,
    "the image's repository is kept",
  );
  for (const id of ["accounts", "ssh", "machine-id", "fstab", "bootloader", "first-boot"])
    assert.ok(ids.includes(id), `${id}: the machine gets its own identity`);
});
