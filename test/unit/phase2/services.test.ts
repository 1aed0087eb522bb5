import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { planServices, sshdRestartArgv, unitName } from "../../../payload/phase2/services.ts";
import { serviceExists } from "../../../payload/phase2/services-state.ts";
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

test("serviceExists: an OpenRC script, or a unit in any systemd unit directory (links not followed)", async () => {
  const root = mkdtempSync(path.join(tmpdir(), "p2-svc-"));
  try {
    mkdirSync(path.join(root, "etc/init.d"), { recursive: true });
    writeFileSync(path.join(root, "etc/init.d/sshd"), "#!/sbin/openrc-run\n");
    mkdirSync(path.join(root, "usr/lib/systemd/system"), { recursive: true });
    writeFileSync(path.join(root, "usr/lib/systemd/system/chronyd.service"), "[Unit]\n");
    mkdirSync(path.join(root, "etc/systemd/system"), { recursive: true });
    // An absolute link means the target's own path; on the host it dangles.
    symlinkSync(
      "/usr/lib/systemd/system/x.service",
      path.join(root, "etc/systemd/system/y.service"),
    );
    assert.equal(await serviceExists(root, "openrc", "sshd"), true);
    assert.equal(await serviceExists(root, "openrc", "chronyd"), false);
    assert.equal(await serviceExists(root, "systemd", "chronyd"), true);
    assert.equal(await serviceExists(root, "systemd", "chronyd.service"), true);
    assert.equal(await serviceExists(root, "systemd", "y"), true);
    assert.equal(await serviceExists(root, "systemd", "sshd"), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
