// The shared grub.cfg's state machine under real GRUB: Debian's grub-emu
// boots (headless, one run per "boot") a disk whose filesystem is the shared
// partition (automagic-boot: grub.cfg, grubenv, GRUB's modules) next to two
// slot filesystems labelled gentoo-a and gentoo-b, each with a
// /boot/grub/grub.cfg that says which slot it is and halts. GRUB itself
// counts down, saves the environment (save_env into the ext4 image) and finds
// the slot by its label; between boots the env changes the installer and
// phase 2 make are applied with the real grub-editenv.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import {
  AB_MENU_TIMEOUT,
  afterInstall,
  confirm,
  editenvArgv,
  fallBack,
  renderSharedGrubCfg,
  slotLabel,
  type EnvChanges,
  type Slot,
} from "../../../payload/render/grub-ab.ts";
import { parseGrubEnv } from "../../../payload/render/grubenv.ts";
import { makeExt4Image } from "../../lib/home-disk.ts";
import { requireTool } from "../../lib/tools.ts";

const EMU_MODULES = "/usr/lib/grub/x86_64-emu";
const MiB = 1024 * 1024;
const ANSI = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*[A-Za-z]", "g");

interface Bed {
  dir: string;
  /** The shared partition's tree; the image is made from it for every boot. */
  shared: string;
  boots: Slot[];
}

async function makeBed(tries: number, changes: EnvChanges): Promise<Bed> {
  for (const t of ["grub-emu", "grub-editenv", "mkfs.ext4", "debugfs"]) requireTool(t);
  const dir = await mkdtemp(join(tmpdir(), "am-grub-ab-"));
  const shared = join(dir, "shared");
  await mkdir(join(shared, "grub"), { recursive: true });
  await cp(EMU_MODULES, join(shared, "grub", "x86_64-emu"), { recursive: true });
  // The renderer's file as installed; only the menu wait is cut (no one presses a key here).
  const cfg = renderSharedGrubCfg({ tries, rootfs: "ext4", cmdline: "console=ttyS0,115200" })
    .replace(/^serial .*\n|^terminal_(input|output) .*\n/gm, "")
    .replace(`set timeout=${AB_MENU_TIMEOUT}`, "set timeout=0");
  await writeFile(join(shared, "grub", "grub.cfg"), cfg);
  await execa("grub-editenv", [join(shared, "grub", "grubenv"), "create"]);
  await editenv({ dir, shared, boots: [] }, changes);
  const map: string[] = [`(hd0) ${join(dir, "shared.img")}`];
  for (const [i, slot] of (["a", "b"] as const).entries()) {
    const tree = join(dir, `slot-${slot}`);
    await mkdir(join(tree, "boot", "grub"), { recursive: true });
    await writeFile(join(tree, "boot", "grub", "grub.cfg"), `echo "SLOT-BOOTED ${slot}"\nhalt\n`);
    await makeExt4Image(join(dir, `${slot}.img`), tree, 8 * MiB, slotLabel(slot));
    map.push(`(hd${i + 1}) ${join(dir, `${slot}.img`)}`);
  }
  await writeFile(join(dir, "device.map"), map.join("\n") + "\n");
  return { dir, shared, boots: [] };
}

/** One power-on: GRUB from the shared image built from `bed.shared`; its output as text. */
async function power(bed: Bed): Promise<string> {
  const img = join(bed.dir, "shared.img");
  await rm(img, { force: true });
  await makeExt4Image(img, bed.shared, 32 * MiB, "automagic-boot");
  const r = await execa(
    "grub-emu",
    ["-m", join(bed.dir, "device.map"), "-r", "hd0", "-d", "/grub"],
    {
      input: "",
      timeout: 30_000,
      reject: false,
    },
  );
  // grub-emu draws with ANSI escapes and CRs; the words are what count.
  const out = r.stdout.replace(ANSI, "").replace(/\r/g, "\n");
  assert.equal(r.exitCode, 0, out);
  return out;
}

/** A power-on that must go cleanly; returns the slot whose grub.cfg ran and reads back what GRUB saved. */
async function boot(bed: Bed): Promise<Slot> {
  const out = await power(bed);
  assert.doesNotMatch(out, /error:/, out);
  const booted = /SLOT-BOOTED ([ab])/.exec(out)?.[1] as Slot | undefined;
  assert.ok(booted, `no slot booted:\n${out}`);
  // save_env wrote into the image: read the block back out of it.
  const img = join(bed.dir, "shared.img");
  await execa("debugfs", ["-R", `dump /grub/grubenv ${join(bed.shared, "grub", "grubenv")}`, img]);
  bed.boots.push(booted);
  return booted;
}

async function editenv(bed: Bed, changes: EnvChanges): Promise<void> {
  const [cmd, ...args] = editenvArgv(join(bed.shared, "grub", "grubenv"), changes);
  await execa(cmd!, args);
}

async function env(bed: Bed): Promise<Record<string, string>> {
  return parseGrubEnv(await readFile(join(bed.shared, "grub", "grubenv")));
}

const state = async (bed: Bed) => {
  const e = await env(bed);
  return [e.ab_default, e.ab_trial, e.ab_tries, e.ab_failed, e.ab_failed_why];
};

test("grub-emu: a trial of a with 2 tries boots a, a, then falls back to b with ab_failed=a", async () => {
  const bed = await makeBed(2, { ab_default: "b" });
  try {
    await editenv(bed, afterInstall(false, "a", 2));
    assert.equal(await boot(bed), "a");
    assert.deepEqual(await state(bed), ["b", "a", "1", "", ""]);
    assert.equal(await boot(bed), "a");
    assert.deepEqual(await state(bed), ["b", "a", "0", "", ""]);
    assert.equal(await boot(bed), "b");
    assert.deepEqual(await state(bed), ["b", "", "", "a", "did not confirm within 2 boots"]);
    assert.equal(await boot(bed), "b");
    assert.deepEqual(bed.boots, ["a", "a", "b", "b"]);
    assert.deepEqual(await state(bed), ["b", "", "", "a", "did not confirm within 2 boots"]);
  } finally {
    await rm(bed.dir, { recursive: true, force: true });
  }
});

test("grub-emu: the first install boots its slot with no trial; a confirmed trial stays", async () => {
  const bed = await makeBed(3, afterInstall(true, "a", 3));
  try {
    assert.equal(await boot(bed), "a");
    assert.equal(await boot(bed), "a");
    assert.deepEqual(await state(bed), ["a", "", "", "", ""]);
    // The next install writes b and puts it on trial; phase 2 on b confirms it.
    await editenv(bed, afterInstall(false, "b", 3));
    assert.equal(await boot(bed), "b");
    assert.deepEqual(await state(bed), ["a", "b", "2", "", ""]);
    await editenv(bed, confirm("b"));
    assert.equal(await boot(bed), "b");
    assert.equal(await boot(bed), "b");
    assert.deepEqual(await state(bed), ["b", "", "", "", ""]);
  } finally {
    await rm(bed.dir, { recursive: true, force: true });
  }
});

test("grub-emu: phase 2 failing on trial b falls back at once; the next trial clears the failure", async () => {
  const bed = await makeBed(3, { ab_default: "a" });
  try {
    await editenv(bed, afterInstall(false, "b", 3));
    assert.equal(await boot(bed), "b");
    await editenv(bed, fallBack("b", "packages: emerge exited 1"));
    assert.equal(await boot(bed), "a");
    assert.deepEqual(await state(bed), ["a", "", "", "b", "packages: emerge exited 1"]);
    await editenv(bed, afterInstall(false, "b", 3));
    assert.deepEqual(await state(bed), ["a", "b", "3", "", ""]);
    assert.equal(await boot(bed), "b");
  } finally {
    await rm(bed.dir, { recursive: true, force: true });
  }
});

test("grub-emu: no environment block at all boots slot a", async () => {
  const bed = await makeBed(3, {});
  try {
    await rm(join(bed.shared, "grub", "grubenv"));
    const out = await power(bed);
    assert.match(out, /error: file .*grubenv' not found/, out);
    assert.match(out, /SLOT-BOOTED a/, out);
  } finally {
    await rm(bed.dir, { recursive: true, force: true });
  }
});
