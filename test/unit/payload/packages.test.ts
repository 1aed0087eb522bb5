// What a host needs beyond a stage3 (the system-packages step), the rules
// shared with `hosts validate` (licences, login shells), and how a failed
// phase-1 emerge reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import {
  licenseAccepted,
  packageName,
  shellProblem,
  unacceptedFirmware,
} from "../../../payload/spec/needs.ts";
import { stage3Lacks } from "../../../payload/plan/packages.ts";
import { EmergeError, runEmerge } from "../../../payload/run/emerge.ts";
import { CommandError } from "../../../shared/command-error.ts";
import { type CommandRunner } from "../../../payload/run/runner.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";

function spec(over: Partial<Record<string, unknown>> = {}): InstallSpec {
  return parseInstallSpec({ ...minimalSpecInput(), ...over });
}
const atoms = (s: InstallSpec) => stage3Lacks(s).map((p) => p.atom);

test("stage3Lacks: GRUB always; efibootmgr on UEFI; dhcpcd for OpenRC DHCP only", () => {
  const firmware = ["sys-kernel/linux-firmware", "sys-firmware/intel-microcode"];
  assert.deepEqual(atoms(spec()), ["sys-boot/grub", "net-misc/dhcpcd", ...firmware]);
  assert.deepEqual(atoms(spec({ firmware: "uefi", init: "systemd" })), [
    "sys-boot/grub",
    "sys-boot/efibootmgr",
    ...firmware,
  ]);
  const staticNet = { mode: "static", address: "10.0.0.2/24", gateway: "10.0.0.1" };
  assert.deepEqual(atoms(spec({ network: staticNet })), ["sys-boot/grub", ...firmware]);
  assert.equal(stage3Lacks(spec())[0]!.why, "the bootloader (GRUB_PLATFORMS=pc)");
  assert.equal(
    stage3Lacks(spec({ firmware: "uefi" }))[0]!.why,
    "the bootloader (GRUB_PLATFORMS=efi-64)",
  );
});

test("stage3Lacks: xfs/btrfs tools for / and /home once; firmware toggles", () => {
  const s = spec({
    rootfs: "xfs",
    home: { ref: { label: "home" }, fs: "xfs" },
    kernel: { linuxFirmware: false, intelMicrocode: false },
  });
  assert.deepEqual(stage3Lacks(s), [
    { atom: "sys-boot/grub", why: "the bootloader (GRUB_PLATFORMS=pc)" },
    { atom: "net-misc/dhcpcd", why: "DHCP on OpenRC" },
    { atom: "sys-fs/xfsprogs", why: "xfs on / and /home" },
  ]);
  const b = spec({ rootfs: "btrfs", kernel: { intelMicrocode: false } });
  assert.deepEqual(atoms(b).slice(2), ["sys-fs/btrfs-progs", "sys-kernel/linux-firmware"]);
});

test("packageName reads cat/pkg from atoms, with operators, slots, repos, USE", () => {
  assert.equal(packageName("sys-kernel/linux-firmware"), "sys-kernel/linux-firmware");
  assert.equal(
    packageName(">=sys-kernel/linux-firmware-20250109-r1:0::gentoo[x]"),
    "sys-kernel/linux-firmware",
  );
  assert.equal(packageName("=app-shells/zsh-5.9*"), "app-shells/zsh");
  assert.equal(packageName("media-fonts/font-adobe-100dpi"), "media-fonts/font-adobe-100dpi");
  assert.equal(packageName("*/*"), "*/*");
  assert.equal(packageName("=app-shells/zsh"), undefined);
  assert.equal(packageName("@world"), undefined);
});

test("licences: per package or for all, taken back by a later -licence", () => {
  const fw = ["sys-kernel/linux-firmware", "linux-fw-redistributable"] as const;
  assert.ok(licenseAccepted(["sys-kernel/linux-firmware linux-fw-redistributable"], ...fw));
  assert.ok(licenseAccepted(["*/* *"], ...fw));
  assert.ok(
    licenseAccepted([">=sys-kernel/linux-firmware-2025 @FREE linux-fw-redistributable"], ...fw),
  );
  assert.ok(!licenseAccepted(["sys-kernel/linux-firmware @FREE"], ...fw));
  assert.ok(
    !licenseAccepted(["*/* linux-fw-redistributable", "sys-kernel/linux-firmware -*"], ...fw),
  );
  assert.ok(!licenseAccepted(["# sys-kernel/linux-firmware linux-fw-redistributable"], ...fw));
  assert.deepEqual(unacceptedFirmware({}, []), ["linuxFirmware", "intelMicrocode"]);
  assert.deepEqual(unacceptedFirmware({ intelMicrocode: false }, ["*/* *"]), []);
});

test("login shells: a stage3's, or one a listed package brings", () => {
  assert.equal(shellProblem("/bin/bash", []), undefined);
  assert.equal(shellProblem("/usr/sbin/nologin", []), undefined);
  assert.equal(shellProblem("/usr/bin/zsh", ["app-shells/zsh"]), undefined);
  assert.equal(
    shellProblem("/bin/zsh", []),
    "/bin/zsh is not in a stage3: add app-shells/zsh to packages",
  );
  assert.match(shellProblem("/usr/bin/xonsh", ["dev-python/xonsh"])!, /knows no package for it/);
});

test("a failed phase-1 emerge names the atoms and carries emerge's reasons", async () => {
  const out = readFileSync(
    new URL("../../fixtures/emerge/portage-3.0.82-license-masked.txt", import.meta.url),
    "utf8",
  );
  const runner: CommandRunner = {
    async run(cmd, opts) {
      for (const l of out.split("\n")) opts?.onLine?.(l);
      throw new CommandError(cmd.join(" "), 1, "");
    },
  };
  const argv = [
    "chroot",
    "/mnt/gentoo",
    "emerge",
    "--noreplace",
    "sys-boot/grub",
    "sys-kernel/linux-firmware",
  ];
  const err = await runEmerge(runner, argv).catch((e: unknown) => e);
  assert.ok(err instanceof EmergeError && err instanceof CommandError);
  assert.equal(err.exitCode, 1);
  assert.equal(
    err.message.split("\n").slice(0, 4).join("\n"),
    [
      "emerge exited with 1; asked for sys-boot/grub sys-kernel/linux-firmware",
      '!!! All ebuilds that could satisfy "sys-kernel/linux-firmware" have been masked.',
      "!!! One of the following masked packages is required to complete your request:",
      "- sys-kernel/linux-firmware-20250109::gentoo (masked by: linux-fw-redistributable license(s))",
    ].join("\n"),
  );
  assert.match(err.stderrTail, /MASKED PACKAGES/);
});
