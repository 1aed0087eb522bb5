// A process the install left inside its target (as getuto's gpg-agent does)
// keeps the new root busy: unmountAll stops it and unmounts without falling
// back to a lazy unmount, so the next mkfs on that partition is not refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { unmountAll } from "../../../payload/steps/chroot.ts";
import { execaRunner } from "../../../payload/run/runner.ts";
import type { RunContext } from "../../../payload/run/context.ts";

test("a process left working in the target is stopped, the target unmounted for real", async () => {
  const target = await mkdtemp(join(tmpdir(), "am-leftover-"));
  await execa("mount", ["-t", "tmpfs", "tmpfs", target]);
  const sleeper = execa("sleep", ["600"], { cwd: target, reject: false });
  try {
    // Busy: a plain umount is refused while it runs there.
    const busy = await execa("umount", [target], { reject: false });
    assert.notEqual(busy.exitCode, 0, "umount of a busy target must fail");
    const lines: string[] = [];
    const ctx = {
      runner: execaRunner(),
      log: (l: string) => lines.push(l),
      mounts: [target],
      createdLinks: [],
    } as unknown as RunContext;
    await unmountAll(ctx, target);
    const res = await sleeper;
    assert.equal(res.signal, "SIGTERM", "the leftover was stopped");
    assert.ok(
      lines.some((l) => /stopped what the install left running .*sleep\[\d+\]/.test(l)),
      lines.join("\n"),
    );
    assert.ok(!lines.some((l) => /lazy unmount/.test(l)), lines.join("\n"));
    const mounts = await readFile("/proc/self/mountinfo", "utf8");
    assert.ok(!mounts.includes(` ${target} `), "the target is no longer mounted");
  } finally {
    sleeper.kill("SIGKILL");
    await execa("umount", ["-l", target], { reject: false });
    await rmdir(target).catch(() => undefined);
  }
});
