// Which reinstalls the server starts, and where (server/policy/reinstall.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { decideReinstall, payloadArgv, REMOTE } from "../../../server/policy/reinstall.ts";

const ask = { host: "ws1", action: "install" as const, layoutMode: "ab" };

test("reinstall: netboot needs no address and takes any layout", () => {
  assert.deepEqual(decideReinstall({ ...ask, via: "netboot", layoutMode: "keep" }), { ok: true });
  assert.deepEqual(decideReinstall({ ...ask, via: "netboot", action: "rescue" }), { ok: true });
});

test("reinstall: ssh is refused for a layout other than ab, naming it", () => {
  for (const mode of ["keep", "create"]) {
    const d = decideReinstall({ ...ask, via: "ssh", layoutMode: mode, address: "10.0.0.5" });
    assert.equal(d.ok, false);
    if (d.ok) continue;
    assert.equal(d.status, 409);
    assert.match(d.reason, new RegExp(`ws1's layout is mode ${mode}`));
    assert.match(d.reason, /--via kexec/);
  }
});

test("reinstall: ssh runs install and deploy only; kexec any action but local", () => {
  for (const action of ["capture", "rescue", "discover"] as const) {
    const d = decideReinstall({ ...ask, via: "ssh", action, address: "10.0.0.5" });
    assert.ok(!d.ok && d.status === 400 && /only install or deploy/.test(d.reason));
    assert.deepEqual(decideReinstall({ ...ask, via: "kexec", action, address: "10.0.0.5" }), {
      ok: true,
      address: "10.0.0.5",
    });
  }
  assert.ok(decideReinstall({ ...ask, via: "ssh", action: "deploy:img", address: "10.0.0.5" }).ok);
  for (const via of ["netboot", "ssh", "kexec"] as const) {
    const d = decideReinstall({ ...ask, via, action: "local", address: "10.0.0.5" });
    assert.ok(!d.ok && d.status === 400, via);
  }
});

test("reinstall: --address wins over the last known one; none at all is refused", () => {
  const both = { ...ask, via: "kexec" as const, layoutMode: "keep", lastKnown: "10.0.0.9" };
  assert.deepEqual(decideReinstall({ ...both, address: "10.0.0.5" }), {
    ok: true,
    address: "10.0.0.5",
  });
  assert.deepEqual(decideReinstall(both), { ok: true, address: "10.0.0.9" });
  const none = decideReinstall({ ...ask, via: "ssh" });
  assert.ok(!none.ok && none.status === 409 && /pass --address/.test(none.reason));
  for (const bad of ["host.example", "10.0.0.256", "::1", "10.0.0.5; reboot"]) {
    const d = decideReinstall({ ...ask, via: "ssh", address: bad });
    assert.ok(!d.ok && d.status === 400, bad);
  }
});

test("reinstall: the payload's command line reads the token from its file and reboots", () => {
  assert.deepEqual(payloadArgv("http://10.0.0.1:8080", "install"), [
    REMOTE.payload,
    "--server",
    "http://10.0.0.1:8080",
    "--token-file",
    REMOTE.token,
    "--action",
    "install",
    "--reboot",
  ]);
});
