import { test } from "node:test";
import assert from "node:assert/strict";
import {
  abState,
  afterInstall,
  confirm,
  editenvArgv,
  fallBack,
  renderSharedGrubCfg,
  serialConsole,
  slotOfLabel,
} from "../../../payload/render/grub-ab.ts";
import { GRUBENV_SIZE, parseGrubEnv, renderGrubEnv } from "../../../payload/render/grubenv.ts";
import { assertGolden } from "../../lib/golden.ts";

test("shared grub.cfg: serial console from the kernel command line, ext4 slots, 3 tries (golden)", () =>
  assertGolden(
    "test/golden/render/grub-ab.bios-ext4-3.cfg",
    renderSharedGrubCfg({ tries: 3, rootfs: "ext4", cmdline: "console=tty0 console=ttyS0,115200" }),
  ));

test("shared grub.cfg: no serial console, xfs slots, 1 try (golden)", () =>
  assertGolden(
    "test/golden/render/grub-ab.xfs-1.cfg",
    renderSharedGrubCfg({ tries: 1, rootfs: "xfs", cmdline: "quiet" }),
  ));

test("shared grub.cfg: the countdown has one branch per try left and refuses a bad count", () => {
  const cfg = renderSharedGrubCfg({ tries: 5, rootfs: "btrfs", cmdline: "" });
  for (let n = 1; n <= 5; n++)
    assert.match(cfg, new RegExp(`\\[ "\\$\\{ab_tries\\}" = "${n}" \\]`));
  assert.doesNotMatch(cfg, /= "6"/);
  assert.match(cfg, /ab_failed_why="did not confirm within 5 boots"/);
  assert.match(cfg, /^insmod btrfs$/m);
  assert.doesNotMatch(cfg, /^serial/m);
  assert.throws(() => renderSharedGrubCfg({ tries: 0, rootfs: "ext4", cmdline: "" }), /tries 0/);
});

test("serial console: unit and speed from console=ttyS<n>,<speed>; 9600 when no speed", () => {
  assert.deepEqual(serialConsole("console=tty0 console=ttyS1,57600n8"), { unit: 1, speed: 57600 });
  assert.deepEqual(serialConsole("console=ttyS0"), { unit: 0, speed: 9600 });
  assert.equal(serialConsole("console=tty0 xconsole=ttyS0"), undefined);
});

test("env changes: first install, trial, confirm, fall back", () => {
  assert.deepEqual(afterInstall(true, "a", 3), {
    ab_default: "a",
    ab_trial: "",
    ab_tries: "",
    ab_failed: "",
    ab_failed_why: "",
  });
  assert.deepEqual(afterInstall(false, "b", 3), {
    ab_trial: "b",
    ab_tries: "3",
    ab_failed: "",
    ab_failed_why: "",
  });
  assert.deepEqual(confirm("b"), { ab_default: "b", ab_trial: "", ab_tries: "" });
  assert.deepEqual(fallBack("b", "packages: emerge failed\n  (2 atoms)"), {
    ab_failed: "b",
    ab_failed_why: "packages: emerge failed (2 atoms)",
    ab_trial: "",
    ab_tries: "",
  });
  assert.equal(fallBack("a", "x".repeat(1000)).ab_failed_why!.length, 300);
  assert.deepEqual(editenvArgv("/efi/grub/grubenv", confirm("a")), [
    "grub-editenv",
    "/efi/grub/grubenv",
    "set",
    "ab_default=a",
    "ab_trial=",
    "ab_tries=",
  ]);
});

test("boot state from the environment; slot from a filesystem label", () => {
  assert.deepEqual(
    abState({ ab_default: "a", ab_trial: "b", ab_tries: "2", ab_failed: "", ab_failed_why: "" }),
    { default: "a", trial: "b", tries: 2 },
  );
  assert.deepEqual(abState({ ab_default: "b", ab_trial: "", ab_failed: "a", ab_failed_why: "x" }), {
    default: "b",
    failed: "a",
    failedWhy: "x",
  });
  assert.deepEqual(abState({ ab_default: "c" }), {});
  assert.equal(slotOfLabel("gentoo-b\n"), "b");
  assert.equal(slotOfLabel("gentoo-root"), undefined);
  assert.equal(slotOfLabel(undefined), undefined);
});

test("grubenv: 1024 bytes, header, '#' padding; escapes round-trip", () => {
  const block = renderGrubEnv({ ab_default: "a", ab_trial: "", why: "back\\slash\nnewline" });
  assert.equal(block.length, GRUBENV_SIZE);
  assert.equal(
    block.toString().replace(/#+$/, ""),
    "# GRUB Environment Block\nab_default=a\nab_trial=\nwhy=back\\\\slash\\\nnewline\n",
  );
  assert.deepEqual(parseGrubEnv(block), {
    ab_default: "a",
    ab_trial: "",
    why: "back\\slash\nnewline",
  });
  assert.deepEqual(parseGrubEnv(renderGrubEnv({})), {});
  assert.throws(() => parseGrubEnv("hello"), /header/);
  assert.throws(() => renderGrubEnv({ "a b": "x" }), /bad variable name/);
  assert.throws(() => renderGrubEnv({ big: "x".repeat(1020) }), /do not fit/);
});
