import { test } from "node:test";
import assert from "node:assert/strict";
import type { Request } from "express";
import {
  adminGuard,
  hostAllowed,
  hostnameOf,
  isLoopback,
  originProblem,
} from "../../../server/http/admin-guard.ts";
import type { HttpError } from "../../../server/http/errors.ts";
import { KNOWN, startHarness, json, raw } from "./harness.ts";

function guard(
  token: string | undefined,
  addr: string,
  auth?: string,
  headers: Record<string, string> = { host: "127.0.0.1:8080" },
): number {
  const req = {
    socket: { remoteAddress: addr },
    headers: auth ? { ...headers, authorization: auth } : headers,
  };
  try {
    let passed = false;
    adminGuard({ token })(req as unknown as Request, {} as never, () => (passed = true));
    return passed ? 200 : 0;
  } catch (err) {
    return (err as HttpError).status;
  }
}

test("admin guard: loopback-only without a token; with a token, the token everywhere", () => {
  assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("::ffff:127.0.0.1"));
  assert.ok(!isLoopback("10.0.0.5") && !isLoopback("::ffff:10.0.0.5"));
  assert.equal(guard(undefined, "127.0.0.1"), 200);
  assert.equal(guard(undefined, "10.0.0.5"), 403);
  assert.equal(guard("s3cret", "10.0.0.5"), 401);
  assert.equal(guard("s3cret", "127.0.0.1"), 401);
  assert.equal(guard("s3cret", "10.0.0.5", "Bearer wrong"), 401);
  assert.equal(guard("s3cret", "10.0.0.5", "Bearer s3cret"), 200);
});

test("admin guard: Host must be a loopback name, an IP address or a listed name", () => {
  assert.equal(hostnameOf("Example.ORG:8080"), "example.org");
  assert.equal(hostnameOf("[::1]:8080"), "::1");
  assert.equal(hostnameOf("localhost."), "localhost");
  for (const h of ["localhost", "a.localhost", "127.0.0.1", "10.0.0.1", "::1"])
    assert.ok(hostAllowed(h), h);
  assert.ok(!hostAllowed("evil.example"));
  assert.ok(!hostAllowed("localhost.evil.example"));
  assert.ok(hostAllowed("netboot.lan", ["NetBoot.lan"]));
  // DNS rebinding: our address, the attacker's name; refused even with a token.
  assert.equal(guard(undefined, "127.0.0.1", undefined, { host: "evil.example:8080" }), 403);
  assert.equal(guard("s3cret", "127.0.0.1", "Bearer s3cret", { host: "evil.example" }), 403);
  assert.equal(guard(undefined, "127.0.0.1", undefined, {}), 403, "no Host at all");
});

test("admin guard: a request from a web page of another origin is refused", () => {
  assert.equal(originProblem(undefined, "127.0.0.1:8080"), undefined);
  assert.equal(originProblem("http://127.0.0.1:8080", "127.0.0.1:8080"), undefined);
  for (const o of ["http://evil.example", "http://127.0.0.1:3000", "null"])
    assert.match(originProblem(o, "127.0.0.1:8080") ?? "", /refusing a request from the web page/);
  const cross = { host: "127.0.0.1:8080", origin: "http://evil.example" };
  assert.equal(guard(undefined, "127.0.0.1", undefined, cross), 403);
  assert.equal(guard("s3cret", "127.0.0.1", "Bearer s3cret", cross), 403);
});

test("admin API over HTTP: Host evil.example is refused, naming the host and the fix", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const r = await raw(h.url, "/api/v1/admin/hosts", { host: "evil.example:8080" });
  assert.equal(r.status, 403);
  assert.equal(
    JSON.parse(r.body.toString()).error,
    'admin API: Host "evil.example" is not served; add it to http.allowedHosts in the serve config ' +
      "(loopback names, IP addresses and the serverUrl host are always served)",
  );
  assert.equal((await raw(h.url, "/api/v1/admin/hosts", { host: "localhost" })).status, 200);
  // boot paths answer any Host: machines use the serverUrl name
  assert.equal((await raw(h.url, `/boot.ipxe?mac=${KNOWN}`, { host: "evil.example" })).status, 200);
});

test("admin API over HTTP: a cross-site POST arms nothing and wakes nothing", async (t) => {
  const h = await startHarness({ config: { adminToken: "tok-1234567890abcdef" } });
  t.after(() => h.close());
  const headers = {
    authorization: "Bearer tok-1234567890abcdef",
    "content-type": "application/json",
    origin: "http://evil.example",
  };
  const r = await fetch(`${h.url}/api/v1/admin/hosts/ws1/next`, {
    method: "POST",
    headers,
    body: JSON.stringify({ action: "install" }),
  });
  assert.equal(r.status, 403);
  assert.match((await json(r)).error, /web page at http:\/\/evil\.example; nothing was changed/);
  const wake = await fetch(`${h.url}/api/v1/admin/hosts/ws1/wake`, { method: "POST", headers });
  assert.equal(wake.status, 403);
  const auth = { authorization: headers.authorization };
  assert.equal(
    (await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`, { headers: auth }))).state,
    "local",
  );
});

test("admin API over HTTP: bearer required when configured; arming validates the action", async (t) => {
  const h = await startHarness({ config: { adminToken: "tok-123" } });
  t.after(() => h.close());
  assert.equal((await fetch(`${h.url}/api/v1/admin/hosts`)).status, 401);
  const auth = { authorization: "Bearer tok-123", "content-type": "application/json" };
  const list = await json(fetch(`${h.url}/api/v1/admin/hosts`, { headers: auth }));
  assert.deepEqual(
    list.map((s: { host: string; state: string }) => [s.host, s.state]),
    [
      ["ws1", "local"],
      ["ws2", "local"],
    ],
  );
  const bad = await fetch(`${h.url}/api/v1/admin/hosts/ws1/next`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ action: "reinstall" }),
  });
  assert.equal(bad.status, 400);
  assert.match((await json(bad)).error, /action "reinstall"/);
  // deploy of an image the server does not hold: refused, nothing armed.
  for (const action of ["deploy:gold-1", "deploy:latest", "deploy:previous"]) {
    const r = await fetch(`${h.url}/api/v1/admin/hosts/ws1/next`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ action }),
    });
    assert.equal(r.status, 404, action);
    assert.match(
      (await json(r)).error,
      /deploy:(gold-1: no image of that name|latest: the host has no latest image|previous: the host has no previous image) \(0 on its \/home, 0 on the server\).*nothing was armed/,
      action,
    );
    const s = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`, { headers: auth }));
    assert.equal(s.state, "local", action);
  }
  // A deliberate 5xx says what is missing (only unexpected failures read "internal error").
  const wake = await fetch(`${h.url}/api/v1/admin/hosts/ws1/wake`, {
    method: "POST",
    headers: auth,
  });
  assert.equal(wake.status, 501);
  assert.equal((await json(wake)).error, "wake: no served interface configured");
  const rescue = await fetch(`${h.url}/api/v1/admin/hosts/ws1/next`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ action: "rescue" }),
  });
  assert.equal(rescue.status, 200);
  assert.equal((await json(rescue)).state, "armed:rescue");
  const none = await fetch(`${h.url}/api/v1/admin/hosts/nope/next`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ action: "install" }),
  });
  assert.equal(none.status, 404);
  // boot paths are public: the guard is only on /api/v1/admin
  assert.equal((await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).status, 200);
});

test("inventory: ansible --list JSON with groups, state and leased address", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  h.store.obs.saveLeases([{ mac: KNOWN, ip: "10.77.0.50", expires: 0 }]);
  h.store.arm("ws2", "rescue");
  const inv = await json(fetch(`${h.url}/api/v1/admin/inventory`));
  assert.deepEqual(inv.all, { hosts: ["ws1", "ws2"], children: ["lab", "workstations"] });
  assert.deepEqual(inv.lab, { hosts: ["ws1", "ws2"] });
  assert.deepEqual(inv.workstations, { hosts: ["ws1"] });
  assert.equal(inv._meta.hostvars.ws1.ansible_host, "10.77.0.50");
  assert.equal(inv._meta.hostvars.ws2.automagic_state, "armed:rescue");
  assert.equal(inv._meta.hostvars.ws2.ansible_host, undefined);
});

test("inventory: without a lease of ours (proxy mode) the address the host last talked from", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  h.store.arm("ws1", "install");
  const script = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  const token = /automagic\.token=(\S+)/.exec(script)![1]!;
  assert.equal((await fetch(`${h.url}/api/v1/run/${token}/spec`)).status, 200);
  const inv = await json(fetch(`${h.url}/api/v1/admin/inventory`));
  assert.equal(inv._meta.hostvars.ws1.ansible_host, "127.0.0.1");
  assert.equal(inv._meta.hostvars.ws2.ansible_host, undefined);
  const trace = h.store.obs.traceFor([KNOWN]);
  assert.equal(trace.find((r) => r.what === "spec fetched")?.detail?.ip, "127.0.0.1");
});
