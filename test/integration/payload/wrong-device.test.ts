// The payload refuses the wrong machine and the wrong device, on loop disks
// with real LUKS / LVM / md signatures, and leaves the bytes as they were.
// Nothing here installs: the real probe, plan and pave handlers run, the
// steps before paving are replaced by a hook (the time the downloads take,
// when a disk can change under the payload) and any step after paving
// fails the test, so each case stops at the refusal in seconds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { requireTool } from "../../lib/tools.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";
import { recordingReporter } from "../../fakes/reporter.ts";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import type { RunEvent } from "../../../payload/spec/events.ts";
import { probeSystem } from "../../../payload/probe/index.ts";
import { planInstall } from "../../../payload/plan/plan.ts";
import { PlanRefusal } from "../../../payload/plan/types.ts";
import { execute, StepFailed, type Handlers } from "../../../payload/run/executor.ts";
import { execaRunner } from "../../../payload/run/runner.ts";
import type { RunContext } from "../../../payload/run/context.ts";
import { cleanupFor, handlers } from "../../../payload/steps/index.ts";
import { attachLoop } from "./loopdisk.ts";
import { REPO } from "./run.ts";
import { SIGNATURE, extent, imageDigest, makeContainer, type Container } from "./signatures.ts";

for (const t of [
  "losetup",
  "sgdisk",
  "partx",
  "mkfs.ext4",
  "blkid",
  "wipefs",
  "lsblk",
  "cryptsetup",
  "pvcreate",
  "mdadm",
  "python3",
  "unshare",
])
  requireTool(t);

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const FIRMWARE = existsSync("/sys/firmware/efi") ? "uefi" : "bios";
const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

interface Disk {
  image: string;
  dev: string;
  part: (n: number) => string;
  detach(): void;
}

/** GPT: 1 BIOS boot, 2 root (partlabel root), 3 /home (ext4 "home"), 4 a second RAID member, 5 ESP. */
function layoutImage(image: string, rootBytes: number): void {
  sh("truncate", ["-s", String(rootBytes + 64 * MiB), image]);
  sh("sgdisk", [
    "--new=1:0:+1M",
    "--typecode=1:ef02",
    `--new=2:0:+${rootBytes / 1024}K`,
    "--typecode=2:8304",
    "--change-name=2:root",
    "--new=3:0:+16M",
    "--typecode=3:8302",
    "--change-name=3:home",
    "--new=4:0:+32M",
    "--change-name=4:spare",
    "--new=5:0:+2M",
    "--typecode=5:ef00",
    "--change-name=5:esp",
    image,
  ]);
}

function attach(image: string): Disk {
  const { dev, detach } = attachLoop(image);
  try {
    sh("partx", ["--add", dev]);
  } catch {
    /* the kernel already scanned them */
  }
  return { image, dev, part: (n) => `${dev}p${n}`, detach };
}

function keepDisk(dir: string, rootBytes: number, name = "disk.img"): Disk {
  const image = join(dir, name);
  layoutImage(image, rootBytes);
  const d = attach(image);
  sh("mkfs.ext4", ["-F", "-q", "-L", "home", d.part(3)]);
  return d;
}

/** Detaches `dev` and attaches `image` under the same name: the name now points at another disk. */
function reattach(dev: string, image: string): void {
  sh("losetup", ["-d", dev]);
  sh("losetup", ["--partscan", dev, image]);
  try {
    sh("partx", ["--add", dev]);
  } catch {
    /* the kernel already scanned them */
  }
}

function spec(
  layout: InstallSpec["layout"] | Record<string, unknown>,
  disk: InstallSpec["disk"] = { minBytes: 1 }, // keep: the probe sees only the test's disk
): InstallSpec {
  return parseInstallSpec(
    {
      ...minimalSpecInput(),
      firmware: FIRMWARE,
      disk,
      layout,
      home: { ref: { label: "home" }, fs: "ext4" },
      portage: { profile: "default/linux/amd64/23.0", binhost: false },
      kernel: { linuxFirmware: false, intelMicrocode: false },
    },
    "wrong-device test",
  );
}

const keepLayout = () => ({
  mode: "keep",
  root: { partlabel: "root" },
  ...(FIRMWARE === "uefi" ? { esp: { partlabel: "esp" } } : {}),
});

interface Outcome {
  step: string;
  message: string;
  events: RunEvent[];
}

/**
 * The real probe, plan and pave steps; `between` runs where fetch-verify
 * would (after the probe, before the first destructive step).
 */
async function pave(o: {
  spec: InstallSpec;
  devices: string[];
  dir: string;
  between?: () => void;
}): Promise<Outcome> {
  const runner = execaRunner();
  const probe = await probeSystem(o.spec, {
    runner,
    devices: o.devices,
    downloads: "skip",
    scratch: o.dir,
    cmdline: "",
  });
  const target = join(o.dir, "target");
  let steps;
  try {
    steps = planInstall(o.spec, probe, { target, stateDir: o.dir });
  } catch (err) {
    if (err instanceof PlanRefusal) return { step: "plan", message: err.message, events: [] };
    throw err;
  }
  const { reporter, events } = recordingReporter();
  const ctx = {
    spec: o.spec,
    probe,
    runner,
    reporter,
    fetch,
    selfBinary: "",
    step: "",
    kept: { hashes: {}, hostKeys: [] },
    uuids: new Map(),
    mounts: [],
    createdLinks: [],
    log: () => {},
  } as RunContext;
  const past = async (a: { kind: string }) => {
    throw new Error(`went past the pave steps into ${a.kind}: nothing was refused`);
  };
  const only = Object.fromEntries(
    Object.keys(handlers).map((k) => [
      k,
      k === "partition" || k === "format" ? handlers[k as "format"] : past,
    ]),
  ) as unknown as Handlers;
  only["fetch-verify"] = async () => o.between?.();
  try {
    await execute(steps, ctx, only, cleanupFor(target));
  } catch (err) {
    if (err instanceof StepFailed)
      return { step: err.step.id, message: (err.cause as Error).message, events };
    throw err;
  }
  return { step: "none", message: "the plan ran to its end", events };
}

const partuuid = (part: string) =>
  sh("blkid", ["-p", "-o", "value", "-s", "PART_ENTRY_UUID", part]).trim();

function scratch(t: { after: (fn: () => void) => void }, disks: Disk[] = []) {
  const dir = mkdtempSync("/var/tmp/am-wrongdev-");
  t.after(() => {
    for (const d of disks) d.detach();
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

for (const kind of ["luks", "lvm", "md"] as Container[]) {
  test(`keep: a root partition that is ${SIGNATURE[kind]} is refused by the plan, naming it; its bytes unchanged`, async (t) => {
    const disks: Disk[] = [];
    const dir = scratch(t, disks);
    // Small: what is on the root is judged before its size.
    const d = keepDisk(dir, 32 * MiB);
    disks.push(d);
    makeContainer(kind, [d.part(2), d.part(4)]);
    assert.match(sh("wipefs", ["--no-act", d.part(2)]), new RegExp(SIGNATURE[kind]));
    const at = extent(d.part(2));
    const before = imageDigest(d.image, at);

    const r = await pave({ spec: spec(keepLayout()), devices: [d.dev], dir });
    assert.equal(r.step, "plan", r.message);
    assert.match(
      r.message,
      new RegExp(
        `^layout\\.root: ${d.part(2)} holds .* \\(signature ${SIGNATURE[kind]}\\); .*refusing to format it$`,
      ),
    );
    assert.equal(imageDigest(d.image, at), before, `${d.part(2)} was written`);
  });

  test(`keep: a root that became ${SIGNATURE[kind]} after the probe is refused by format-root before wipefs; its bytes unchanged`, async (t) => {
    const disks: Disk[] = [];
    const dir = scratch(t, disks);
    const d = keepDisk(dir, 4 * GiB);
    disks.push(d);
    sh("mkfs.ext4", ["-F", "-q", d.part(2)]); // the old root, as the probe sees it
    const at = extent(d.part(2));
    let before = "";

    const r = await pave({
      spec: spec(keepLayout()),
      devices: [d.dev],
      dir,
      between: () => {
        makeContainer(kind, [d.part(2), d.part(4)]);
        before = imageDigest(d.image, at);
      },
    });
    assert.equal(r.step, "format-root", r.message);
    assert.match(
      r.message,
      new RegExp(
        `^${d.part(2)} holds .* \\(signature ${SIGNATURE[kind]}\\); .*refusing to format it$`,
      ),
    );
    const fail = r.events.find((e) => e.kind === "step-fail");
    assert.equal(fail?.device, d.part(2));
    assert.ok(before);
    assert.equal(imageDigest(d.image, at), before, `${d.part(2)} was written`);
  });
}

test("keep: the root's name points at another partition by format time (loop re-attached): refused naming both PARTUUIDs; nothing written", async (t) => {
  const disks: Disk[] = [];
  const dir = scratch(t, disks);
  const a = keepDisk(dir, 4 * GiB, "a.img");
  disks.push(a);
  sh("mkfs.ext4", ["-F", "-q", a.part(2)]);
  const b = join(dir, "b.img"); // the same layout, its own GUIDs
  layoutImage(b, 4 * GiB);
  const was = partuuid(a.part(2));
  const at = extent(a.part(2));
  let before = "";
  let now = "";

  const r = await pave({
    spec: spec(keepLayout()),
    devices: [a.dev],
    dir,
    between: () => {
      reattach(a.dev, b);
      now = partuuid(a.part(2));
      before = imageDigest(b, at);
    },
  });
  assert.notEqual(now, was);
  assert.equal(r.step, "format-root", r.message);
  assert.equal(
    r.message,
    `${a.part(2)} is no longer the partition the plan was made for: expected PARTUUID ${was}; now PARTUUID ${now}, partition 2 of the disk with backing file ${b}, ${statSync(b).size} bytes, no signature on it; refusing to wipe it`,
  );
  assert.equal(imageDigest(b, at), before, `${b}'s root was written`);
});

test("create: the disk's name points at another disk by partition time (loop re-attached): refused naming both; nothing written", async (t) => {
  const disks: Disk[] = [];
  const dir = scratch(t, disks);
  const size = 4 * GiB + 64 * MiB;
  const aImg = join(dir, "a.img");
  const bImg = join(dir, "b.img");
  for (const f of [aImg, bImg]) sh("truncate", ["-s", String(size), f]);
  const homeImg = join(dir, "home.img");
  sh("truncate", ["-s", String(32 * MiB), homeImg]);
  const a = attach(aImg);
  disks.push(a);
  const home = attach(homeImg);
  disks.push(home);
  sh("mkfs.ext4", ["-F", "-q", "-L", "home", home.dev]); // /home on a whole disk of its own
  const whole = { offset: 0, length: size };
  let before = "";

  const r = await pave({
    spec: spec(
      { mode: "create", wipe: true, espBytes: 8 * MiB, swapBytes: 0 },
      { minBytes: 4 * GiB },
    ),
    devices: [a.dev, home.dev],
    dir,
    between: () => {
      reattach(a.dev, bImg);
      before = imageDigest(bImg, whole);
    },
  });
  assert.equal(r.step, "partition", r.message);
  assert.equal(
    r.message,
    `${a.dev} is no longer the disk the plan was made for: expected backing file ${aImg}, ${size} bytes; now backing file ${bImg}, ${size} bytes; refusing to write it`,
  );
  assert.equal(r.events.find((e) => e.kind === "step-fail")?.device, a.dev);
  assert.equal(imageDigest(bImg, whole), before, `${bImg} was written`);
});

test("the payload on a machine whose BOOTIF is not the spec's exits 2 naming both MACs; the disk is untouched", async (t) => {
  const disks: Disk[] = [];
  const dir = scratch(t, disks);
  const d = keepDisk(dir, 32 * MiB);
  disks.push(d);
  const whole = { offset: 0, length: statSync(d.image).size };
  const before = imageDigest(d.image, whole);
  const specFile = join(dir, "spec.json");
  writeFileSync(specFile, JSON.stringify(spec(keepLayout())));
  const cmdline = join(dir, "cmdline");
  writeFileSync(cmdline, "console=ttyS0 BOOTIF=01-52-54-00-99-99-99 quiet\n");

  // /proc/cmdline is this machine's; a private mount namespace shows the payload another one.
  const r = await execa(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount --bind "$0" /proc/cmdline && exec "$@"',
      cmdline,
      process.execPath,
      "--import",
      "tsx",
      join(REPO, "payload/main.ts"),
      "--spec",
      specFile,
      "--devices",
      d.dev,
      "--target",
      join(dir, "target"),
      "--state-dir",
      dir,
    ],
    { cwd: REPO, reject: false, timeout: 60_000 },
  );
  assert.equal(r.exitCode, 2, `${r.stdout}\n${r.stderr}`);
  assert.match(
    r.stdout,
    /\[plan\] FAILED: refused: macs: this machine netbooted from 52:54:00:99:99:99 \(BOOTIF\), which is not one of web1's MACs \(52:54:00:12:34:56\)/,
  );
  assert.equal(imageDigest(d.image, whole), before);
});
