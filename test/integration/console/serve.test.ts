// The console as `automagic serve` serves it: the real process, its
// generated admin token as the login, the example hosts on the hosts page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, makeWorld, startServe } from "../control/serve-process.ts";

test("serve: /ui/ asks for the login, takes the generated token, lists the host files", async (t) => {
  const world = makeWorld();
  t.after(() => world.close());
  const s = await startServe(world, ["--http-port", String(await freePort()), "--no-tftp"]);
  t.after(() => s.stop());

  const first = await fetch(`${s.url}/ui/`, { redirect: "manual" });
  assert.equal(first.status, 303);
  assert.equal(first.headers.get("location"), "/ui/login?next=%2Fui%2F");
  const file = join(world.stateDir, "admin-token");
  const login = await fetch(`${s.url}/ui/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `token=${encodeURIComponent(readFileSync(file, "utf8").trim())}`,
    redirect: "manual",
  });
  assert.equal(login.status, 303);
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
  const hosts = await fetch(`${s.url}/ui/`, { headers: { cookie } });
  assert.equal(hosts.status, 200);
  const text = await hosts.text();
  for (const name of ["qemu-bios", "qemu-uefi", "example-workstation"])
    assert.match(text, new RegExp(`<tr data-host="${name}">`), name);
  const js = await fetch(`${s.url}/ui/static/console.js`);
  assert.equal(js.status, 200);
  assert.match(await js.text(), /new EventSource/);
});
