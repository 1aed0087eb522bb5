// runPhase2 with a recording fake runner: the order of commands, the
// failure report, and the keep-going policy. No overlay (no chown needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runPhase2 } from "../../../payload/phase2/index.ts";
import { CommandError } from "../../../shared/command-error.ts";
import { type CommandRunner } from "../../../payload/run/runner.ts";
import type { Phase2Event } from "../../../payload/phase2/types.ts";
import { phase2Spec } from "./spec.ts";

function fixtureRoot() {
  const root = mkdtempSync(path.join(tmpdir(), "p2-run-"));
  mkdirSync(path.join(root, "etc/portage"), { recursive: true });
  writeFileSync(path.join(root, "etc/portage/package.use"), "sys-apps/old flag\n"); // a stage3 file
  return root;
}

function fakeRunner(failEmerge: boolean) {
  const calls: string[][] = [];
  const runner: CommandRunner = {
    async run(cmd, opts) {
      calls.push([...cmd]);
      if (cmd.includes("emerge") && !cmd.includes("--sync")) {
        opts?.onLine?.(">>> Emerging binary (1 of 2) app-editors/vim-9.1::gentoo");
        opts?.onLine?.(">>> Installing (1 of 2) app-editors/vim-9.1::gentoo");
        if (failEmerge) {
          opts?.onLine?.(">>> Failed to emerge www-servers/nginx-1.27, Log file:");
          throw new CommandError(cmd.join(" "), 1, "emerge: there were errors");
        }
        opts?.onLine?.(">>> Installing (2 of 2) www-servers/nginx-1.27::gentoo");
      }
      return { stdout: "", stderr: "" };
    },
  };
  return { runner, calls };
}

const spec = () =>
  phase2Spec({
    packages: ["app-editors/vim", "www-servers/nginx"],
    portage: { profile: "p", sync: true, packageUse: ["a/b c"] },
    overlay: { present: false },
  });

test("commands in order, progress events, stamp, run-done summary", async () => {
  const root = fixtureRoot();
  try {
    const { runner, calls } = fakeRunner(false);
    const events: Phase2Event[] = [];
    const now = () => new Date("2026-11-27T10:00:00Z");
    const summary = await runPhase2({
      spec: spec(),
      server: "http://x",
      token: "t",
      root,
      runner,
      report: { emit: (e) => void events.push(e) },
      now,
    });
    assert.deepEqual(
      calls.map((c) => c.slice(2, 4).join(" ")),
      ["emerge --sync", "emerge --color=n", "rc-update add", "rc-update add"],
    );
    assert.ok(calls.every((c) => c[0] === "chroot" && c[1] === root));
    assert.equal(
      readFileSync(path.join(root, "etc/portage/package.use/00-local"), "utf8"),
      "sys-apps/old flag\n",
    );
    assert.equal(
      readFileSync(path.join(root, "var/lib/automagic/emerge-sync.stamp"), "utf8"),
      "2026-11-27T10:00:00.000Z\n",
    );
    assert.deepEqual(summary.packages.installed, ["app-editors/vim-9.1", "www-servers/nginx-1.27"]);
    assert.deepEqual(
      events
        .filter((e) => e.kind === "progress")
        .map((e) => `${e.progress!.done}/${e.progress!.total} ${e.message}`),
      ["0/2 app-editors/vim-9.1", "1/2 app-editors/vim-9.1", "2/2 app-editors/vim-9.1"],
    );
    // emerge's own output reaches the server as the packages step's log, as in phase 1.
    assert.deepEqual(
      events.filter((e) => e.kind === "log" && e.step === "packages").map((e) => e.message),
      [
        ">>> Emerging binary (1 of 2) app-editors/vim-9.1::gentoo",
        ">>> Installing (1 of 2) app-editors/vim-9.1::gentoo",
        ">>> Installing (2 of 2) www-servers/nginx-1.27::gentoo",
      ],
    );
    assert.equal(events.at(-1)!.kind, "run-done");

    // same day again: no second sync, nothing rewritten
    const again = fakeRunner(false);
    const s2 = await runPhase2({
      spec: spec(),
      server: "http://x",
      token: "t",
      root,
      runner: again.runner,
      report: { emit: () => {} },
      now,
    });
    assert.equal(s2.sync, "skipped-recent");
    assert.deepEqual(s2.portage.written, []);
    assert.ok(!again.calls.some((c) => c.includes("--sync")));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a failed emerge with keep-going: services still run, the run fails with details", async () => {
  const root = fixtureRoot();
  // sshd came with phase 1; nginx's script would have come with its (failed) package.
  mkdirSync(path.join(root, "etc/init.d"), { recursive: true });
  writeFileSync(path.join(root, "etc/init.d/sshd"), "#!/sbin/openrc-run\n");
  try {
    const { runner, calls } = fakeRunner(true);
    const events: Phase2Event[] = [];
    await assert.rejects(
      runPhase2({
        spec: spec(),
        server: "http://x",
        token: "t",
        root,
        runner,
        report: { emit: (e) => void events.push(e) },
      }),
      /emerge exited with 1 \(failed: www-servers\/nginx-1.27\); asked for @world app-editors\/vim www-servers\/nginx$/,
    );
    assert.deepEqual(
      calls.filter((c) => c.includes("rc-update")).map((c) => c.slice(2).join(" ")),
      ["rc-update add sshd default"],
      "services ran after the failed emerge; nginx waits for its package",
    );
    const services = events.find((e) => e.kind === "step-end" && e.step === "services");
    assert.equal(
      services?.message,
      "1 enabled, 0 disabled, 1 unchanged; waiting for packages: nginx",
    );
    const fail = events.find((e) => e.kind === "step-fail")!;
    assert.equal(fail.step, "packages");
    assert.equal(fail.exitCode, 1);
    assert.match(fail.command!, /emerge .* @world app-editors\/vim www-servers\/nginx$/);
    assert.match(fail.stderrTail!, /Failed to emerge www-servers\/nginx-1.27/);
    assert.ok(!events.some((e) => e.kind === "run-done"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("without keep-going a failed emerge stops the run at once", async () => {
  const root = fixtureRoot();
  try {
    const { runner, calls } = fakeRunner(true);
    const s = phase2Spec({
      packages: ["app-editors/vim"],
      portage: { profile: "p", keepGoing: false },
      overlay: { present: false },
    });
    await assert.rejects(
      runPhase2({
        spec: s,
        server: "http://x",
        token: "t",
        root,
        runner,
        report: { emit: () => {} },
      }),
      /emerge exited/,
    );
    assert.ok(!calls.some((c) => c.includes("rc-update")));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a masked atom fails the packages step with emerge's own reasons in the message", async () => {
  const root = fixtureRoot();
  try {
    // What real emerge 3.0.82 prints for a ~amd64-only package (test/fixtures/emerge/).
    const masked = readFileSync(
      new URL("../../fixtures/emerge/portage-3.0.82-keyword-masked.txt", import.meta.url),
      "utf8",
    );
    const runner: CommandRunner = {
      async run(cmd, opts) {
        if (cmd.includes("emerge")) {
          for (const l of masked.split("\n")) opts?.onLine?.(l);
          throw new CommandError(cmd.join(" "), 1, "masked");
        }
        return { stdout: "", stderr: "" };
      },
    };
    const events: Phase2Event[] = [];
    await assert.rejects(
      runPhase2({
        spec: phase2Spec({ packages: ["app-editors/neovim"], overlay: { present: false } }),
        server: "http://x",
        token: "t",
        root,
        runner,
        report: { emit: (e) => void events.push(e) },
      }),
    );
    const fail = events.find((e) => e.kind === "step-fail")!;
    assert.equal(fail.step, "packages");
    assert.equal(
      fail.message,
      [
        "emerge exited with 1; asked for @world app-editors/neovim",
        '!!! All ebuilds that could satisfy "app-editors/neovim" have been masked.',
        "!!! One of the following masked packages is required to complete your request:",
        "- app-editors/neovim-0.10.4::gentoo (masked by: ~amd64 keyword)",
      ].join("\n"),
    );
    assert.match(fail.stderrTail!, /MASKED PACKAGES section/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("login shells: set once the package brought them, waiting when it is missing", async () => {
  const root = fixtureRoot();
  try {
    writeFileSync(
      path.join(root, "etc/passwd"),
      "root:x:0:0::/root:/bin/bash\ncarol:x:1000:1000::/home/carol:/bin/bash\n",
    );
    const spec = phase2Spec({
      packages: ["app-shells/zsh"],
      overlay: { present: false },
      users: [{ name: "carol", uid: 1000, gid: 1000, shell: "/bin/zsh", password: "!" }],
    });
    const run = (runner: CommandRunner, events: Phase2Event[] = []) =>
      runPhase2({
        spec,
        server: "http://x",
        token: "t",
        root,
        runner,
        report: { emit: (e) => void events.push(e) },
      });

    // emerge "succeeded" but left no /bin/zsh: the step says what is missing.
    const events: Phase2Event[] = [];
    await assert.rejects(run(fakeRunner(false).runner, events), /users\[0\]\.shell: \/bin\/zsh/);
    assert.equal(events.find((e) => e.kind === "step-fail")!.step, "shells");

    mkdirSync(path.join(root, "bin"));
    writeFileSync(path.join(root, "bin/zsh"), "");
    chmodSync(path.join(root, "bin/zsh"), 0o755);
    const { runner, calls } = fakeRunner(false);
    await run(runner);
    assert.ok(calls.some((c) => c.slice(2).join(" ") === "usermod --shell /bin/zsh carol"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
