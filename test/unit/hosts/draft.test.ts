// `automagic hosts draft`: the host file drafted from a recorded inventory,
// as exact text (golden), and accepted as is by the real validator
// (loadHostRegistry, what `hosts validate` runs) beside the defaults.yaml
// `automagic init` writes and beside this repository's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { renderDraft } from "../../../server/hosts/draft.ts";
import { loadHostRegistry } from "../../../server/hosts/index.ts";
import { starterFiles } from "../../../server/app/starter.ts";
import { assertGolden } from "../../lib/golden.ts";
import type { Inventory } from "../../../payload/spec/inventory.ts";

const REPO = resolve(import.meta.dirname, "../../..");
const CASES = ["uefi-keep", "bios-create", "no-home"] as const;
const inventory = (c: string) =>
  JSON.parse(
    readFileSync(join(REPO, `test/fixtures/discover/inventory-${c}.json`), "utf8"),
  ) as Inventory;
const draft = (c: string) =>
  renderDraft({
    name: `drafted-${c}`,
    inventory: inventory(c),
    macs: ["52:54:00:a0:00:99"],
    reportedAt: "2026-12-07T12:00:00.000Z",
    runId: 42,
  });

for (const c of CASES)
  test(`draft ${c}: golden text`, () => {
    assertGolden(`test/golden/hosts/draft-${c}.yaml`, draft(c));
  });

test("draft: keep when /home is on the root's disk, create on another disk, CHANGE-ME without /home", () => {
  const keep = draft("uefi-keep");
  assert.match(
    keep,
    /mode: keep\n {2}root: \{ partlabel: "gentoo-root" \}\n {2}esp: \{ partlabel: "EFI" \}\n {2}swap: \{ partlabel: "swap" \}/,
  );
  assert.match(keep, /ref: \{ label: "home" \}\n {2}fs: xfs/);
  assert.match(keep, /disk:\n {2}serial: "S64ANS0T000000X"/, "the NVMe, not the USB stick");
  assert.match(keep, /macs: \["aa:bb:cc:00:11:22", "aa:bb:cc:00:11:23", "52:54:00:a0:00:99"\]/);
  const create = draft("bios-create");
  assert.match(create, /mode: create\n {2}wipe:\n {4}serial: "PHYF000000001234"/);
  assert.match(
    create,
    /home:\n {2}ref: \{ uuid: "9a9a9a9a-0000-4000-8000-000000000001" \}\n {2}fs: ext4\n {2}disk:\n {4}serial: "WD-WCC7K0000001"/,
  );
  assert.match(create, /# PROBLEM: Ethernet controller 0000:01:00.0 \[14e4:1639\] has no driver/);
  assert.match(draft("no-home"), /CHANGE-ME: no partition looks like \/home/);
});

test("every draft validates as is, beside init's defaults.yaml and beside this repository's", async () => {
  const starter = starterFiles().find((f) => f.path === "hosts/defaults.yaml")!.text;
  for (const defaults of ["starter", "repo"]) {
    const dir = mkdtempSync(join(tmpdir(), "am-draft-"));
    try {
      if (defaults === "starter") writeFileSync(join(dir, "defaults.yaml"), starter);
      else copyFileSync(join(REPO, "hosts/defaults.yaml"), join(dir, "defaults.yaml"));
      // one extra MAC each: a MAC belongs to one host only
      CASES.forEach((c, i) =>
        writeFileSync(
          join(dir, `drafted-${c}.yaml`),
          draft(c).replace("52:54:00:a0:00:99", `52:54:00:a0:00:${i}0`),
        ),
      );
      const reg = await loadHostRegistry(dir);
      assert.deepEqual(
        reg.hosts.map((h) => h.name).sort(),
        CASES.map((c) => `drafted-${c}`).sort(),
      );
      // and the command a person runs says so
      const out = execFileSync(join(REPO, "bin/automagic"), ["hosts", "validate", dir], {
        encoding: "utf8",
      });
      assert.match(out, /3 hosts OK/, defaults);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
