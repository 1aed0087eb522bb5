// Layout ab on loop disks with the real probe, plan and pave handlers
// (sgdisk, mkfs, blkid): the create table carries the GPT names
// automagic-a/-b (and automagic-boot on BIOS) and formats only slot a; then
// the same disk adopted with ab_default=a in the shared grubenv (written by
// grub-editenv) formats slot b only, slot a's filesystem left as it was
// (BIOS: the shared partition is ext4, which every test kernel mounts).
// Nothing is installed: only the plan's pave steps run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { requireTool } from "../../lib/tools.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";
import { recordingReporter } from "../../fakes/reporter.ts";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import { probeSystem } from "../../../payload/probe/index.ts";
import { planInstall } from "../../../payload/plan/plan.ts";
import { execute } from "../../../payload/run/executor.ts";
import { execaRunner } from "../../../payload/run/runner.ts";
import type { RunContext } from "../../../payload/run/context.ts";
import { cleanupFor, handlers } from "../../../payload/steps/index.ts";
import { LoopWorld } from "./world.ts";

for (const t of ["losetup", "sgdisk", "partx", "mkfs.ext4", "mkfs.vfat", "blkid", "wipefs"])
  requireTool(t);
requireTool("grub-editenv");

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const tag = (dev: string, key: string) => {
  try {
    return sh("blkid", ["-p", "-o", "value", "-s", key, dev]).trim();
  } catch {
    return ""; // blkid exits 2 when the tag is absent
  }
};

function spec(firmware: "bios" | "uefi", layout: Record<string, unknown>): InstallSpec {
  return parseInstallSpec(
    {
      ...minimalSpecInput(),
      firmware,
      disk: { minBytes: 8 * 2 ** 30 }, // the target image; /home's is smaller
      layout,
      home: { ref: { label: "home" }, fs: "ext4" },
      portage: { profile: "default/linux/amd64/23.0", binhost: false },
      kernel: { linuxFirmware: false, intelMicrocode: false },
    },
    "ab-partition test",
  );
}

/** Probe, plan, and run only the pave steps (partition, format) with the real handlers. */
async function pave(s: InstallSpec, devices: string[], dir: string): Promise<string[]> {
  const runner = execaRunner();
  const probe = await probeSystem(s, {
    runner,
    devices,
    downloads: "skip",
    scratch: dir,
    cmdline: "",
  });
  // The probe booted wherever the test runs; the spec's firmware decides the table.
  probe.firmware = s.firmware;
  const target = join(dir, "target");
  const steps = planInstall(s, probe, { target, stateDir: dir }).filter((x) => x.group === "pave");
  const ctx = {
    spec: s,
    probe,
    runner,
    reporter: recordingReporter().reporter,
    fetch,
    selfBinary: "",
    step: "",
    kept: { hashes: {}, hostKeys: [] },
    uuids: new Map(),
    mounts: [],
    createdLinks: [],
    log: () => {},
  } as RunContext;
  await execute(steps, ctx, handlers, cleanupFor(target));
  return steps.map((x) => x.title);
}

for (const firmware of ["bios", "uefi"] as const) {
  const what = firmware === "bios" ? "; adopt with ab_default=a writes b" : "";
  test(`ab on ${firmware}: create names the slots and writes a${what}`, async () => {
    const world = new LoopWorld(`am-ab-${firmware}`);
    try {
      const disk = world.disk("target", "9G");
      const home = world.disk("home", "64M");
      sh("mkfs.ext4", ["-F", "-q", "-L", "home", home]);
      const devices = [disk, home];

      const created = await pave(spec(firmware, { mode: "ab", wipe: true }), devices, world.dir);
      const bios = firmware === "bios";
      const [shared, a, b] = bios ? [2, 3, 4] : [1, 2, 3];
      const p = (n: number) => `${disk}p${n}`;
      assert.equal(tag(p(a), "PART_ENTRY_NAME"), "automagic-a");
      assert.equal(tag(p(b), "PART_ENTRY_NAME"), "automagic-b");
      assert.equal(tag(p(a), "PART_ENTRY_SIZE"), tag(p(b), "PART_ENTRY_SIZE"), "equal slots");
      assert.equal(tag(p(a), "LABEL"), "gentoo-a");
      assert.equal(tag(p(a), "TYPE"), "ext4");
      assert.equal(tag(p(b), "TYPE"), "", "slot b is not formatted");
      if (bios) {
        assert.equal(tag(p(1), "PART_ENTRY_TYPE"), "21686148-6449-6e6f-744e-656564454649");
        assert.equal(tag(p(shared), "PART_ENTRY_NAME"), "automagic-boot");
        assert.equal(tag(p(shared), "LABEL"), "automagic-boot");
        assert.equal(tag(p(shared), "TYPE"), "ext4");
      } else {
        assert.equal(tag(p(shared), "TYPE"), "vfat");
        assert.equal(tag(p(shared), "LABEL"), "EFI");
      }
      assert.ok(
        created.some((t) => t.includes(`slot a (${p(a)})`)),
        created.join("\n"),
      );
      // Adopting needs the shared partition mounted to set its grubenv; this runs for
      // automagic-boot (ext4), as vfat is not in every test kernel.
      if (!bios) return;

      // What the bootloader step of the first install leaves: ab_default=a on the shared partition.
      const mnt = join(world.dir, "shared");
      mkdirSync(mnt);
      sh("mount", [p(shared), mnt]);
      try {
        mkdirSync(join(mnt, "grub"));
        sh("grub-editenv", [join(mnt, "grub/grubenv"), "set", "ab_default=a"]);
      } finally {
        sh("umount", [mnt]);
      }
      const uuidA = tag(p(a), "UUID");

      const adopt = {
        mode: "ab",
        slots: { a: { partlabel: "automagic-a" }, b: { partlabel: "automagic-b" } },
        ...(bios ? { boot: { label: "automagic-boot" } } : { esp: { label: "EFI" } }),
      };
      const adopted = await pave(spec(firmware, adopt), devices, world.dir);
      assert.deepEqual(adopted, [`wipefs + mkfs.ext4 slot b (${p(b)})`]);
      assert.equal(tag(p(b), "LABEL"), "gentoo-b");
      assert.equal(tag(p(a), "UUID"), uuidA, "slot a's filesystem is the one it was");
    } finally {
      world.close();
    }
  });
}
