// kill -9 the server mid-run: action, token and events survive, and a
// second payload-style client carries the run to the end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { get as httpGet } from "node:http";
import { allowBootFrom, cli, freePort, makeWorld, startServe } from "./serve-process.ts";

const MAC = "52:54:00:a0:00:01"; // hosts/qemu-bios.yaml

/** GET from a chosen local address (fetch cannot bind one). */
function getFrom(url: string, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { localAddress }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
  });
}
const ev = (seq: number, kind: string, extra: Record<string, unknown> = {}) => ({
  seq,
  time: new Date().toISOString(),
  phase: 1,
  kind,
  ...extra,
});

test("restart after kill -9 keeps action, token and events; a second client finishes the run", async (t) => {
  const world = makeWorld();
  allowBootFrom(world, "qemu-bios");
  t.after(() => world.close());
  const port = await freePort();
  const args = ["--http-port", String(port), "--no-tftp", "--dhcp-mode", "off"];
  let s = await startServe(world, args);
  t.after(() => s.stop());
  const env = { AUTOMAGIC_SERVER: s.url };

  // A deploy of an image the server does not hold: refused with the reason, nothing armed.
  const refused = await cli(["next", "qemu-bios", "deploy:gold-1"], env);
  assert.notEqual(refused.exitCode, 0);
  assert.match(
    refused.stderr,
    /deploy:gold-1: no image of that name \(0 on its \/home, 0 on the server\)/,
  );
  const untouched = await cli(["status", "qemu-bios", "--json"], env);
  assert.equal(JSON.parse(untouched.stdout).state, "local");

  const armed = await cli(["next", "qemu-bios", "install"], env);
  assert.equal(armed.exitCode, 0, armed.stderr);
  assert.equal(armed.stdout.trim(), "qemu-bios: armed:install");

  // A second server instance armed but not yet booted: kill now, action must survive.
  await s.kill9();
  s = await startServe(world, args);
  let st = await cli(["status", "qemu-bios", "--json"], env);
  assert.equal(JSON.parse(st.stdout).state, "armed:install");

  // Another address naming the MAC (127.0.0.2: not the host's allowFrom, in no
  // lease or neighbour entry) gets no token and does not consume the action.
  const stolen = await getFrom(`${s.url}/boot.ipxe?mac=${MAC}`, "127.0.0.2");
  assert.doesNotMatch(stolen, /automagic\.token/);
  assert.match(stolen, /from 127\.0\.0\.2: 127\.0\.0\.2 is in neither our DHCP leases/);
  st = await cli(["status", "qemu-bios", "--json"], env);
  assert.equal(JSON.parse(st.stdout).state, "armed:install");

  const script = await (await fetch(`${s.url}/boot.ipxe?mac=${MAC}`)).text();
  const token = /automagic\.token=(\S+)/.exec(script)?.[1];
  assert.ok(token, script);
  const spec = await fetch(`${s.url}/api/v1/run/${token}/spec`);
  assert.equal(spec.status, 200);
  const post = (events: unknown[], tok = token) =>
    fetch(`${s.url}/api/v1/run/${tok}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
  const r1 = await post([ev(1, "run-start"), ev(2, "step-start", { step: "fetch-stage3" })]);
  assert.deepEqual(await r1.json(), {
    accepted: 2,
    duplicates: 0,
    dropped: 0,
    status: "running",
    phase: 1,
  });

  await s.kill9();
  s = await startServe(world, args);

  st = await cli(["status", "qemu-bios", "--json"], env);
  const status = JSON.parse(st.stdout);
  assert.equal(status.state, "running:install");
  assert.equal(status.run.step, "fetch-stage3");
  const events = await cli(["events", "qemu-bios", "--json"], env);
  assert.deepEqual(
    events.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).event.kind),
    ["run-start", "step-start"],
  );
  // the machine reboots mid-run: it must go to its disk, not reinstall
  assert.match(
    await (await fetch(`${s.url}/boot.ipxe?mac=${MAC}`)).text(),
    /in progress\)\niseq \$\{platform\} efi && exit 1 \|\|\nexit\n$/,
  );

  // "second client": resends the last event (lost response), then carries on
  const r2 = await post([
    ev(2, "step-start", { step: "fetch-stage3" }),
    ev(3, "step-end", { step: "fetch-stage3" }),
    ev(4, "phase-done"),
  ]);
  assert.deepEqual(await r2.json(), {
    accepted: 2,
    duplicates: 1,
    dropped: 0,
    status: "running",
    phase: 1,
  });
  const p2 = (await (
    await fetch(`${s.url}/api/v1/run/${token}/phase2`, { method: "POST" })
  ).json()) as {
    token: string;
  };
  await s.kill9();
  s = await startServe(world, args);
  const r3 = await post([ev(1, "run-done", { phase: 2 })], p2.token);
  assert.deepEqual(await r3.json(), {
    accepted: 1,
    duplicates: 0,
    dropped: 0,
    status: "done",
    phase: 2,
  });
  st = await cli(["status", "qemu-bios", "--json"], env);
  assert.equal(JSON.parse(st.stdout).state, "local");
  assert.equal((await fetch(`${s.url}/api/v1/run/${p2.token}/spec`)).status, 401);
  const trace = await cli(["trace", "qemu-bios"], env);
  assert.match(trace.stdout, /boot\.ipxe served decision=install/);
  assert.match(trace.stdout, /payload run-done/);
});
