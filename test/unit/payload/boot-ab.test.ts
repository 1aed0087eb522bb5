// The bootloader step's A/B part with a fake runner: the shared partition
// mounted where the installed system mounts it, automagic's grub.cfg on it,
// and the boot state for the slot just written set with the target's
// grub-editenv (first install: the default; later: a trial).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { mountShared, setAbBoot, type AbBoot } from "../../../payload/steps/boot-ab.ts";
import { renderSharedGrubCfg } from "../../../payload/render/grub-ab.ts";
import { inChroot, type CommandRunner } from "../../../payload/run/runner.ts";
import type { RunContext } from "../../../payload/run/context.ts";
import { parseInstallSpec } from "../../../payload/spec/schema.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";

function setup(firmware: "bios" | "uefi") {
  const target = mkdtempSync(path.join(tmpdir(), "boot-ab-"));
  const calls: string[][] = [];
  const runner: CommandRunner = {
    async run(cmd) {
      calls.push([...cmd]);
      return { stdout: "", stderr: "" };
    },
  };
  const spec = parseInstallSpec({
    ...minimalSpecInput(),
    firmware,
    layout: { mode: "ab", wipe: true, tries: 2 },
    kernel: { cmdline: "console=tty0 console=ttyS0,115200" },
  });
  const lines: string[] = [];
  const ctx = {
    spec,
    runner,
    mounts: [],
    log: (l: string) => lines.push(l),
  } as unknown as RunContext;
  const run = (cmd: string[]) => runner.run(inChroot(target, cmd));
  return { target, calls, ctx, run, lines };
}

const AB = (o: Partial<AbBoot> = {}): AbBoot => ({
  slot: "a",
  shared: "/dev/vda2",
  sharedFs: "ext4",
  tries: 2,
  first: true,
  ...o,
});

test("BIOS, first install: automagic-boot mounted at /boot/automagic, grub.cfg written, slot a the default", async () => {
  const s = setup("bios");
  try {
    const dir = await mountShared(s.ctx, s.target, "bios", AB());
    assert.equal(dir, "/boot/automagic");
    const at = path.join(s.target, "boot/automagic");
    assert.deepEqual(s.calls, [["mount", "-t", "ext4", "/dev/vda2", at]]);
    assert.deepEqual(s.ctx.mounts, [at]);
    await setAbBoot(s.ctx, s.target, dir, AB(), s.run);
    assert.equal(
      readFileSync(path.join(at, "grub/grub.cfg"), "utf8"),
      renderSharedGrubCfg({
        tries: 2,
        rootfs: "ext4",
        cmdline: "console=tty0 console=ttyS0,115200",
      }),
    );
    const chroot = s.calls.slice(1).map((c) => c.slice(c.indexOf(s.target) + 1));
    assert.deepEqual(chroot, [
      ["grub-editenv", "/boot/automagic/grub/grubenv", "create"],
      [
        "grub-editenv",
        "/boot/automagic/grub/grubenv",
        "set",
        "ab_default=a",
        "ab_trial=",
        "ab_tries=",
        "ab_failed=",
        "ab_failed_why=",
      ],
    ]);
    assert.ok(s.lines.includes("slot a is the default (first install)"), s.lines.join("\n"));
  } finally {
    rmSync(s.target, { recursive: true, force: true });
  }
});

test("UEFI, a later install: the ESP's grubenv kept, slot b on trial for 2 boots", async () => {
  const s = setup("uefi");
  try {
    const ab = AB({ slot: "b", shared: "/dev/nvme0n1p1", sharedFs: "vfat", first: false });
    mkdirSync(path.join(s.target, "efi/grub"), { recursive: true });
    writeFileSync(path.join(s.target, "efi/grub/grubenv"), "# GRUB Environment Block\n");
    await setAbBoot(s.ctx, s.target, "/efi", ab, s.run);
    assert.match(readFileSync(path.join(s.target, "efi/grub/grub.cfg"), "utf8"), /^load_env$/m);
    assert.deepEqual(
      s.calls.map((c) => c.slice(c.indexOf(s.target) + 1)),
      [
        [
          "grub-editenv",
          "/efi/grub/grubenv",
          "set",
          "ab_trial=b",
          "ab_tries=2",
          "ab_failed=",
          "ab_failed_why=",
        ],
      ],
    );
    assert.ok(s.lines.some((l) => /slot b on trial for 2 boot/.test(l)));
  } finally {
    rmSync(s.target, { recursive: true, force: true });
  }
});
