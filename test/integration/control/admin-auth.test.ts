// Who may use the admin API of a real `automagic serve`: the CLI on the same
// host (through the token serve generates), never a browser page (DNS
// rebinding, cross-site POST); a token file others can read stops the start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { cli, freePort, makeWorld, startServe } from "./serve-process.ts";

function raw(url: string, path: string, headers: Record<string, string>, method = "GET") {
  const u = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(method === "POST" ? JSON.stringify({ action: "install" }) : undefined);
  });
}

test("serve: the CLI on the host uses the generated token; browsers' Host and Origin are refused", async (t) => {
  const world = makeWorld();
  t.after(() => world.close());
  const cfg = join(world.dir, "serve.yaml");
  writeFileSync(cfg, "http: { allowedHosts: [netboot.lan] }\n");
  const port = await freePort();
  const s = await startServe(world, ["-c", cfg, "--http-port", String(port), "--no-tftp"]);
  t.after(() => s.stop());
  const env = { AUTOMAGIC_SERVER: s.url };

  const file = join(world.stateDir, "admin-token");
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const token = readFileSync(file, "utf8").trim();
  assert.equal((await fetch(`${s.url}/api/v1/admin/hosts`)).status, 401, "loopback is not enough");

  const armed = await cli(["next", "qemu-bios", "rescue"], env);
  assert.equal(armed.exitCode, 0, armed.stderr);
  assert.equal(armed.stdout.trim(), "qemu-bios: armed:rescue");
  const st = await cli(["status", "qemu-bios", "--json"], env);
  assert.equal(JSON.parse(st.stdout).state, "armed:rescue");

  const auth = { authorization: `Bearer ${token}` };
  const rebound = await raw(s.url, "/api/v1/admin/hosts", {
    ...auth,
    host: `evil.example:${port}`,
  });
  assert.equal(rebound.status, 403);
  assert.match(
    rebound.body,
    /Host \\"evil\.example\\" is not served; add it to http\.allowedHosts/,
  );
  const listed = await raw(s.url, "/api/v1/admin/hosts", { ...auth, host: `netboot.lan:${port}` });
  assert.equal(listed.status, 200, listed.body);

  const cross = await raw(
    s.url,
    "/api/v1/admin/hosts/qemu-bios/next",
    {
      ...auth,
      host: `127.0.0.1:${port}`,
      "content-type": "application/json",
      origin: "http://evil.example",
    },
    "POST",
  );
  assert.equal(cross.status, 403);
  assert.match(cross.body, /nothing was changed/);
  const after = await cli(["status", "qemu-bios", "--json"], env);
  assert.equal(JSON.parse(after.stdout).state, "armed:rescue", "the cross-site POST armed nothing");
});

test("serve refuses to start on a token file others can read, or a short one", async (t) => {
  const world = makeWorld();
  t.after(() => world.close());
  const file = join(world.dir, "admin-token");
  // The exit and its output, or "started" (then stopped: the check is missing).
  const serve = () =>
    startServe(world, ["--http-port", "0", "--no-tftp", "--admin-token-file", file]).then(
      async (s) => {
        await s.stop();
        return "started";
      },
      (err: Error) => err.message,
    );
  writeFileSync(file, "0123456789abcdef0123\n", { mode: 0o644 });
  let r = await serve();
  assert.match(r, /^serve exited \(1\):/);
  assert.match(r, new RegExp(`${file}: admin token file has mode 0644.*; chmod 600 ${file}`));
  writeFileSync(file, "short\n");
  chmodSync(file, 0o600);
  r = await serve();
  assert.match(r, /^serve exited \(1\):/);
  assert.match(r, new RegExp(`${file}: admin token is 5 characters, at least 16`));
});
