// `automagic reinstall HOST --via netboot --wait` against a real `automagic
// serve`: it arms like `next`, waits for the machine (played here by a
// boot.ipxe fetch and the payload's event posts, from loopback, which the
// host file allows), and ends with the run: exit 0 and outcome succeeded, exit
// 4 with the failure's reason, exit 8 when --timeout runs out first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execa } from "execa";
import { BIN, allowBootFrom, freePort, makeWorld, startServe } from "../control/serve-process.ts";

const MAC = "52:54:00:a0:00:01"; // hosts/qemu-bios.yaml

test("reinstall --via netboot --wait: armed, followed to the run's end", async (t) => {
  const world = makeWorld();
  t.after(() => world.close());
  allowBootFrom(world, "qemu-bios");
  const port = await freePort();
  const s = await startServe(world, ["--http-port", String(port), "--no-tftp"]);
  t.after(() => s.stop());
  const env = { AUTOMAGIC_SERVER: s.url };
  const reinstall = (args: string[]) =>
    execa(BIN, ["reinstall", "qemu-bios", "--via", "netboot", ...args], { env, reject: false });

  /** The machine: boot script with its token, then the payload's events. */
  const machine = async (kinds: Array<{ kind: string; step?: string; message?: string }>) => {
    let token: string | undefined;
    for (let i = 0; i < 100 && !token; i++) {
      const script = await (await fetch(`${s.url}/boot.ipxe?mac=${MAC}`)).text();
      token = /automagic\.token=(\S+)/.exec(script)?.[1];
      if (!token) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(token, "the boot script carries a token once the CLI armed the host");
    const events = kinds.map((k, i) => ({
      seq: i + 1,
      time: new Date().toISOString(),
      phase: 1,
      ...k,
    }));
    const r = await fetch(`${s.url}/api/v1/run/${token}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
    assert.equal(r.status, 200, await r.text());
  };

  const ok = reinstall(["--wait", "--json", "--timeout", "60"]);
  await machine([{ kind: "run-start" }, { kind: "run-done", message: "done" }]);
  const done = await ok;
  assert.equal(done.exitCode, 0, done.stderr);
  const doc = JSON.parse(done.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc).sort(), ["host", "outcome", "run", "via"]);
  assert.equal(doc.outcome, "succeeded");
  assert.equal(doc.via, "netboot");
  assert.equal(doc.host, "qemu-bios");

  const bad = reinstall(["--wait", "--timeout", "60"]);
  await machine([
    { kind: "run-start" },
    { kind: "step-fail", step: "pave", message: "mkfs.ext4 said no" },
  ]);
  const failed = await bad;
  assert.equal(failed.exitCode, 4, failed.stderr);
  assert.match(failed.stderr, /failed: .*mkfs\.ext4 said no/);
  assert.match(failed.stdout, /step-fail pave/, "the run's events are printed as they come");

  const slow = await reinstall(["--wait", "--json", "--timeout", "2"]);
  assert.equal(slow.exitCode, 8, slow.stderr);
  assert.equal((JSON.parse(slow.stdout) as { outcome: string }).outcome, "timeout");

  // without --wait: armed, exit 0 at once
  const armed = await reinstall(["--json"]);
  assert.equal(armed.exitCode, 0, armed.stderr);
  assert.equal((JSON.parse(armed.stdout) as { outcome: string }).outcome, "armed");
  const status = await execa(BIN, ["status", "qemu-bios", "--json"], { env });
  assert.equal((JSON.parse(status.stdout) as { state: string }).state, "armed:install");
  // a bad --via is a usage error; nothing is sent
  const usage = await execa(BIN, ["reinstall", "qemu-bios", "--via", "pxe"], {
    env,
    reject: false,
  });
  assert.equal(usage.exitCode, 2);
});
