// planInstall is a pipeline of group planners (payload/plan/groups/): each
// has its own golden file, and the whole plan is exactly their steps in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec } from "../../../payload/spec/schema.ts";
import type { ProbedSystem } from "../../../payload/probe/types.ts";
import {
  GROUP_PLANNERS,
  planContext,
  planInstall,
  type PlanOptions,
} from "../../../payload/plan/plan.ts";
import type { GroupPlanner } from "../../../payload/plan/groups/context.ts";
import { planPrepare } from "../../../payload/plan/groups/prepare.ts";
import { planDisk } from "../../../payload/plan/groups/disk.ts";
import { planRoot } from "../../../payload/plan/groups/root.ts";
import { planConfigure } from "../../../payload/plan/groups/configure.ts";
import { planBoot } from "../../../payload/plan/groups/boot.ts";
import { planFinish } from "../../../payload/plan/groups/finish.ts";
import type { Step } from "../../../payload/plan/types.ts";
import { assertGolden, readJson } from "../../lib/golden.ts";

interface Case {
  name: string;
  spec: string;
  probe: string;
  opts?: PlanOptions;
}

const SYSIMG = "ws1-20261127T170509Z";
const cases: Case[] = [
  { name: "lab-bios-openrc--bios-keep-sda", spec: "lab-bios-openrc", probe: "bios-keep-sda" },
  { name: "lab-bios-openrc--bios-keep-lowram", spec: "lab-bios-openrc", probe: "bios-keep-lowram" },
  {
    name: "ws-uefi-create-systemd--uefi-blank-nvme-home-sda",
    spec: "ws-uefi-create-systemd",
    probe: "uefi-blank-nvme-home-sda",
  },
  {
    name: "nuc-uefi-keep-openrc--uefi-keep-nvme",
    spec: "nuc-uefi-keep-openrc",
    probe: "uefi-keep-nvme",
  },
  {
    name: "deploy from the server",
    spec: "ws-uefi-create-systemd",
    probe: "uefi-blank-nvme-home-sda",
    opts: { deploy: { image: SYSIMG, server: { sha256: "a".repeat(64), bytes: 300 << 20 } } },
  },
  {
    name: "deploy from /home, the server's copy as fallback",
    spec: "ws-uefi-create-systemd",
    probe: "uefi-blank-nvme-home-sda",
    opts: {
      deploy: {
        image: SYSIMG,
        home: { device: "/dev/sda1", fstype: "ext4", sha256: "a".repeat(64), bytes: 300 << 20 },
        server: { sha256: "a".repeat(64), bytes: 300 << 20 },
      },
    },
  },
];

function context(c: Case) {
  const probe = readJson<ProbedSystem>(`test/fixtures/probe/${c.probe}.json`);
  if (c.opts?.deploy)
    probe.downloads = {
      stage3Bytes: 0,
      snapshotBytes: 0,
      sysimg: { name: SYSIMG, bytes: 300 << 20 },
    };
  const spec = parseInstallSpec(readJson(`test/golden/plans/specs/${c.spec}.json`), c.spec);
  return { spec, probe, ctx: planContext(spec, probe, c.opts) };
}

/** Each planner, the name of its golden file and the tree group its steps carry. */
const groups: [string, GroupPlanner, Step["group"]][] = [
  ["prepare", planPrepare, "prepare"],
  ["disk", planDisk, "pave"],
  ["root", planRoot, "install"],
  ["configure", planConfigure, "configure"],
  ["boot", planBoot, "boot"],
  ["finish", planFinish, "finish"],
];

for (const [name, planner, group] of groups) {
  test(`the ${name} planner matches its golden steps`, () => {
    const out: Record<string, Step[]> = {};
    for (const c of cases) {
      const steps = planner(context(c).ctx);
      assert.ok(steps.length > 0, `${c.name}: no ${name} steps`);
      for (const s of steps) assert.equal(s.group, group, `${c.name}: ${s.id}`);
      out[c.name] = steps;
    }
    assertGolden(`test/golden/plans/groups/${name}.json`, JSON.stringify(out, null, 2) + "\n");
  });
}

test("the plan is the group planners' steps in order, nothing else", () => {
  assert.deepEqual(
    GROUP_PLANNERS,
    groups.map(([, planner]) => planner),
  );
  for (const c of cases) {
    const { spec, probe, ctx } = context(c);
    assert.deepEqual(
      planInstall(spec, probe, c.opts),
      groups.flatMap(([, planner]) => planner(ctx)),
      c.name,
    );
  }
});
