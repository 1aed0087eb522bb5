// Phase 2 under layout ab with a fake runner: the slot is known by the label
// at /, the shared partition mounted from fstab when it is not, confirmed on
// success (phase-done says { slot, confirmed }), and on a failure while on
// trial the old slot is the default again and the wrapper is told to reboot.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runPhase2 } from "../../../payload/phase2/index.ts";
import { runPhase2Cli, type Phase2CliReporter } from "../../../payload/phase2-cli.ts";
import { AB_FALLBACK_FILE } from "../../../payload/phase2/firstboot.ts";
import { renderGrubEnv } from "../../../payload/render/grubenv.ts";
import { INSTALLED_STATE } from "../../../payload/steps/finish.ts";
import { CommandError } from "../../../shared/command-error.ts";
import type { CommandRunner } from "../../../payload/run/runner.ts";
import type { Phase2Event } from "../../../payload/phase2/types.ts";
import type { InstallSpec } from "../../../payload/spec/schema.ts";
import { phase2Spec } from "./spec.ts";

const abSpec = (firmware: "bios" | "uefi" = "bios") =>
  phase2Spec({
    firmware,
    layout: { mode: "ab", wipe: true, tries: 2 },
    packages: [],
    portage: { profile: "p", sync: false },
    overlay: { present: false },
    services: { enable: ["nginx"], disable: [] },
  });

interface Fake extends CommandRunner {
  calls: string[][];
}

/** findmnt says `label`; the shared partition is mounted when `mounted`; `failOn` fails that command. */
function fakeRunner(o: { label: string; mounted?: boolean; failOn?: string }): Fake {
  const calls: string[][] = [];
  return {
    calls,
    async run(cmd) {
      calls.push([...cmd]);
      if (cmd[0] === "findmnt")
        return { stdout: cmd.includes("LABEL") ? `${o.label}\n` : "/dev/vda4\n", stderr: "" };
      if (cmd[0] === "mountpoint" && !o.mounted) throw new CommandError(cmd.join(" "), 32, "");
      if (o.failOn && cmd.includes(o.failOn))
        throw new CommandError(cmd.join(" "), 3, `${o.failOn}: no such service`);
      return { stdout: "", stderr: "" };
    },
  };
}

/** A root with the shared partition's grubenv at `shared` (as the installer left it). */
function root(shared: string, env: Record<string, string>): string {
  const r = mkdtempSync(path.join(tmpdir(), "p2-ab-"));
  mkdirSync(path.join(r, "etc/portage"), { recursive: true });
  mkdirSync(path.join(r, INSTALLED_STATE), { recursive: true });
  mkdirSync(path.join(r, shared, "grub"), { recursive: true });
  writeFileSync(path.join(r, shared, "grub/grubenv"), renderGrubEnv(env));
  return r;
}

const editenv = (calls: string[][], r: string) =>
  calls
    .filter((c) => c[0] === "chroot" && c[1] === r && c[2] === "grub-editenv")
    .map((c) => c.slice(2));

function recorder(): Phase2CliReporter & { events: Phase2Event[] } {
  const events: Phase2Event[] = [];
  return { events, emit: (e) => void events.push(e), flush: async () => undefined };
}

const serving = (spec: InstallSpec | undefined) =>
  (async () =>
    spec
      ? new Response(JSON.stringify(spec), { headers: { "content-type": "application/json" } })
      : new Response("gone", { status: 403 })) as unknown as typeof fetch;

/** The first-boot wrapper's call on root `r`, with the spec served (or a 403 without one). */
function cli(r: string, run: Fake, spec: InstallSpec | undefined) {
  const rep = recorder();
  const code = runPhase2Cli({
    server: "http://s",
    token: "t",
    root: r,
    reporter: rep,
    runner: run,
    fetch: serving(spec),
  });
  return { rep, code };
}

const TRIAL_B = { ab_default: "a", ab_trial: "b", ab_tries: "1", ab_failed: "", ab_failed_why: "" };

test("success on slot b: /boot/automagic mounted from fstab, b confirmed, phase-done says so", async () => {
  const r = root("boot/automagic", TRIAL_B);
  try {
    const run = fakeRunner({ label: "gentoo-b" });
    const events: Phase2Event[] = [];
    const summary = await runPhase2({
      spec: abSpec(),
      server: "http://x",
      token: "t",
      root: r,
      runner: run,
      report: { emit: (e) => void events.push(e) },
    });
    assert.deepEqual(run.calls.slice(-4), [
      ["findmnt", "-n", "-o", "LABEL", "--target", r],
      ["mountpoint", "-q", path.join(r, "boot/automagic")],
      ["chroot", r, "mount", "/boot/automagic"],
      [
        "chroot",
        r,
        "grub-editenv",
        "/boot/automagic/grub/grubenv",
        "set",
        "ab_default=b",
        "ab_trial=",
        "ab_tries=",
      ],
    ]);
    assert.equal(summary.slot, "b");
    assert.equal(summary.confirmed, true);
    const done = events.find((e) => e.kind === "phase-done")!;
    assert.deepEqual(
      [
        (done.summary as { slot?: string }).slot,
        (done.summary as { confirmed?: boolean }).confirmed,
      ],
      ["b", true],
    );
    assert.ok(
      events.some(
        (e) =>
          e.kind === "step-end" &&
          e.step === "confirm-slot" &&
          /slot b confirmed/.test(e.message ?? ""),
      ),
    );
  } finally {
    rmSync(r, { recursive: true, force: true });
  }
});

test("UEFI: the ESP at /efi (already mounted) holds the state; the label comes from blkid without udev", async () => {
  const r = root("efi", TRIAL_B);
  try {
    const calls: string[][] = [];
    const run: CommandRunner = {
      async run(cmd) {
        calls.push([...cmd]);
        if (cmd[0] === "findmnt")
          return { stdout: cmd.includes("LABEL") ? "\n" : "/dev/nvme0n1p3\n", stderr: "" };
        if (cmd[0] === "blkid") return { stdout: "gentoo-b\n", stderr: "" };
        return { stdout: "", stderr: "" };
      },
    };
    const summary = await runPhase2({
      spec: abSpec("uefi"),
      server: "http://x",
      token: "t",
      root: r,
      runner: run,
      report: { emit: () => undefined },
    });
    assert.equal(summary.slot, "b");
    assert.ok(calls.some((c) => c.join(" ") === "blkid -s LABEL -o value /dev/nvme0n1p3"));
    assert.ok(!calls.some((c) => c.includes("mount")), "the ESP was mounted already");
    assert.deepEqual(editenv(calls, r), [
      ["grub-editenv", "/efi/grub/grubenv", "set", "ab_default=b", "ab_trial=", "ab_tries="],
    ]);
  } finally {
    rmSync(r, { recursive: true, force: true });
  }
});

test("layout ab but / is not a slot: confirm-slot fails and says why", async () => {
  const r = root("boot/automagic", TRIAL_B);
  try {
    const events: Phase2Event[] = [];
    await assert.rejects(
      runPhase2({
        spec: abSpec(),
        server: "http://x",
        token: "t",
        root: r,
        runner: fakeRunner({ label: "gentoo-root", mounted: true }),
        report: { emit: (e) => void events.push(e) },
      }),
      /not labelled gentoo-a or gentoo-b/,
    );
    assert.equal(events.filter((e) => e.kind === "step-fail")[0]!.step, "confirm-slot");
    assert.equal(events.filter((e) => e.kind === "phase-done").length, 0);
  } finally {
    rmSync(r, { recursive: true, force: true });
  }
});

test("a failed step on trial slot b: one step-fail, the trial is given up, the wrapper is told to reboot", async () => {
  const r = root("boot/automagic", TRIAL_B);
  try {
    const run = fakeRunner({ label: "gentoo-b", mounted: true, failOn: "rc-update" });
    const { rep, code } = cli(r, run, abSpec());
    assert.equal(await code, 1);
    assert.deepEqual(
      rep.events.filter((e) => e.kind === "step-fail").map((e) => e.step),
      ["services"],
    );
    const [set] = editenv(run.calls, r);
    assert.deepEqual(set!.slice(0, 4), [
      "grub-editenv",
      "/boot/automagic/grub/grubenv",
      "set",
      "ab_failed=b",
    ]);
    assert.match(set![4]!, /^ab_failed_why=services: Command failed with exit code 3: /);
    assert.deepEqual(set!.slice(5), ["ab_trial=", "ab_tries="]);
    assert.equal(readFileSync(path.join(r, INSTALLED_STATE, AB_FALLBACK_FILE), "utf8"), "b\n");
    assert.ok(
      rep.events.some(
        (e) => e.kind === "log" && /slot b was on trial and failed/.test(e.message ?? ""),
      ),
    );
    assert.equal(rep.events.filter((e) => e.kind === "run-done").length, 0);
  } finally {
    rmSync(r, { recursive: true, force: true });
  }
});

test("a failed step on a slot not on trial (first install): no fallback, the hook retries as today", async () => {
  const r = root("boot/automagic", { ab_default: "b", ab_trial: "" });
  try {
    const run = fakeRunner({ label: "gentoo-b", mounted: true, failOn: "rc-update" });
    const { code } = cli(r, run, abSpec());
    assert.equal(await code, 1);
    assert.deepEqual(editenv(run.calls, r), []);
    assert.ok(!existsSync(path.join(r, INSTALLED_STATE, AB_FALLBACK_FILE)));
  } finally {
    rmSync(r, { recursive: true, force: true });
  }
});

test("the spec cannot be fetched on trial slot b: the slot is known by its label and falls back", async () => {
  const r = root("boot/automagic", TRIAL_B);
  try {
    const run = fakeRunner({ label: "gentoo-b", mounted: true });
    const { code } = cli(r, run, undefined);
    assert.equal(await code, 1);
    const [set] = editenv(run.calls, r);
    assert.ok(
      set!.includes("ab_failed_why=spec: GET http://s/api/v1/run/t/spec: HTTP 403"),
      set!.join(" "),
    );
    assert.ok(existsSync(path.join(r, INSTALLED_STATE, AB_FALLBACK_FILE)));
  } finally {
    rmSync(r, { recursive: true, force: true });
  }
});

test("not layout ab: a failure looks at no slot", async () => {
  const r = root("boot/automagic", TRIAL_B);
  try {
    const run = fakeRunner({ label: "gentoo-b", mounted: true, failOn: "rc-update" });
    const spec = {
      ...abSpec(),
      layout: { mode: "keep", root: { partlabel: "root" } },
    } as InstallSpec;
    assert.equal(await cli(r, run, spec).code, 1);
    assert.ok(!run.calls.some((c) => c[0] === "findmnt" || c.includes("grub-editenv")));
  } finally {
    rmSync(r, { recursive: true, force: true });
  }
});
