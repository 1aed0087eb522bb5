// Golden plans for the example hosts as the server really serves them:
// hosts/*.yaml through server/hosts (load, defaults, resolve) into an
// install spec, planned against a probe fixture shaped like the machine
// (test/fixtures/probe/). A change to a host file, the resolver or the
// planner that changes what would happen on a disk shows up here as a diff.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import {
  loadHostRegistry,
  resolveInstallSpec,
  type ResolveContext,
} from "../../../server/hosts/index.ts";
import { GENTOO_RELEASE_KEY, GENTOO_SNAPSHOT_KEY } from "../../../payload/spec/schema.ts";
import type { ProbedSystem } from "../../../payload/probe/types.ts";
import { planInstall } from "../../../payload/plan/plan.ts";
import { planTree } from "../../../payload/plan/tree.ts";
import { assertGolden, readJson } from "../../lib/golden.ts";

const ROOT = resolve(import.meta.dirname, "../../..");
const ctx: ResolveContext = {
  mirrorUrl: "http://10.0.0.1:8080/mirror/",
  trustedKeys: [GENTOO_RELEASE_KEY, GENTOO_SNAPSHOT_KEY],
};

const cases: [host: string, probe: string][] = [
  ["qemu-bios", "qemu-bios"],
  ["qemu-uefi", "qemu-uefi"],
  ["example-workstation", "workstation-nvme"],
];

for (const [host, fixture] of cases) {
  test(`hosts/${host}.yaml planned on ${fixture} matches the golden plan`, async () => {
    const reg = await loadHostRegistry(resolve(ROOT, "hosts"));
    const entry = reg.byName(host);
    assert.ok(entry, `hosts/${host}.yaml is not in the registry`);
    const spec = resolveInstallSpec(entry, ctx);
    const probe = readJson<ProbedSystem>(`test/fixtures/probe/${fixture}.json`);
    const steps = planInstall(spec, probe);
    const name = `host-${host}--${fixture}`;
    assertGolden(
      `test/golden/plans/${name}.tree.txt`,
      planTree(`install ${host} on ${fixture}`, steps),
    );
    assertGolden(`test/golden/plans/${name}.json`, JSON.stringify(steps, null, 2) + "\n");
  });
}

test("the e2e machines (2 GiB RAM, ~130 MiB fixture downloads) stage in RAM", async () => {
  const reg = await loadHostRegistry(resolve(ROOT, "hosts"));
  for (const host of ["qemu-bios", "qemu-uefi"]) {
    const steps = planInstall(
      resolveInstallSpec(reg.byName(host)!, ctx),
      readJson<ProbedSystem>(`test/fixtures/probe/${host}.json`),
    );
    const a = steps[0]!.action;
    assert.ok(a.kind === "fetch-verify" && a.staging.where === "ram", `${host}: not staged in RAM`);
  }
});
