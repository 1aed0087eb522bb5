import { test } from "node:test";
import assert from "node:assert/strict";
import { renderFirstBoot } from "../../../payload/phase2/firstboot.ts";
import { assertGolden } from "../../lib/golden.ts";
import { phase2Spec } from "./spec.ts";

const opts = { binaryPath: "/usr/local/sbin/automagic-install", stateDir: "/var/lib/automagic" };

function show(fb: ReturnType<typeof renderFirstBoot>): string {
  const files = fb.files.map((f) => `==> ${f.path} (${f.mode.toString(8)})\n${f.content}`).join("");
  return `${files}==> enable\n${JSON.stringify(fb.enable)}\n`;
}

test("OpenRC: backgrounded init script, enabled in default, after sshd (golden)", () => {
  const fb = renderFirstBoot(phase2Spec(), opts);
  assertGolden("test/unit/phase2/golden/firstboot-openrc.txt", show(fb));
  assert.deepEqual(fb.enable, { openrc: ["add", "automagic-phase2", "default"] });
});

test("systemd: oneshot unit, not ordered before sshd (golden)", () => {
  const fb = renderFirstBoot(phase2Spec({ init: "systemd" }), opts);
  assertGolden("test/unit/phase2/golden/firstboot-systemd.txt", show(fb));
  assert.deepEqual(fb.enable, { systemd: ["enable", "automagic-phase2.service"] });
  const unit = fb.files.find((f) => f.path.endsWith(".service"))!.content;
  assert.match(unit, /Type=oneshot/);
  assert.doesNotMatch(unit, /Before=.*sshd/);
});

test("the wrapper disables the hook only after success", () => {
  const wrapper = renderFirstBoot(phase2Spec(), opts).files[0]!.content;
  const ok = wrapper.indexOf("rc-update del automagic-phase2 default");
  const run = wrapper.indexOf("/usr/local/sbin/automagic-install --phase 2");
  const fail = wrapper.indexOf("will retry on next boot");
  assert.ok(run > 0 && ok > run && fail > ok, "disable sits in the success branch");
});

test("paths that would need shell quoting are refused", () => {
  assert.throws(
    () => renderFirstBoot(phase2Spec(), { ...opts, stateDir: "/var/lib/auto magic" }),
    /stateDir: "\/var\/lib\/auto magic" is not a plain absolute path/,
  );
});
