import { test } from "node:test";
import assert from "node:assert/strict";
import { planServices, sshdRestartArgv, unitName } from "../../../payload/phase2/services.ts";
import { phase2Spec } from "./spec.ts";

test("OpenRC: add what is missing, delete from every runlevel it is in", () => {
  const spec = phase2Spec();
  const enabled = new Map([
    ["sshd", ["default"]],
    ["dhcpcd", ["boot", "default"]],
  ]);
  assert.deepEqual(
    planServices(spec, { enabled }).map((a) => a.argv),
    [
      ["rc-update", "add", "nginx", "default"],
      ["rc-update", "del", "dhcpcd", "boot"],
      ["rc-update", "del", "dhcpcd", "default"],
    ],
  );
});

test("converged state plans nothing", () => {
  const spec = phase2Spec();
  const enabled = new Map([
    ["sshd", ["default"]],
    ["nginx", ["default"]],
  ]);
  assert.deepEqual(planServices(spec, { enabled }), []);
});

test("systemd: unit names, enable/disable", () => {
  const spec = phase2Spec({
    init: "systemd",
    services: { enable: ["nginx", "fstrim.timer"], disable: ["dhcpcd"] },
  });
  const enabled = new Map([["dhcpcd.service", ["multi-user.target.wants"]]]);
  assert.deepEqual(
    planServices(spec, { enabled }).map((a) => a.argv),
    [
      ["systemctl", "enable", "nginx.service"],
      ["systemctl", "enable", "fstrim.timer"],
      ["systemctl", "disable", "dhcpcd.service"],
    ],
  );
  assert.equal(unitName("openrc", "sshd"), "sshd");
  assert.deepEqual(sshdRestartArgv("systemd"), ["systemctl", "restart", "sshd.service"]);
});

test("a service both enabled and disabled is enabled (enable wins)", () => {
  const spec = phase2Spec({ services: { enable: ["x"], disable: ["x"] } });
  assert.deepEqual(planServices(spec, { enabled: new Map([["x", ["default"]]]) }), []);
});
