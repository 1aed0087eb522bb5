// POST /api/v1/admin/hosts/:name/reinstall and what it hands out: an ssh or
// kexec run starts at once with its token pinned to the machine's address,
// the payload binary with the manifest's sha256, kernel and initrd on the
// token's route, and the kexec command line a netboot of the run would get.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InstallSpec } from "../../../payload/spec/schema.ts";
import type { HostEntry } from "../../../server/hosts/index.ts";
import { fakeSpec } from "../../fakes/control-hosts.ts";
import { KNOWN, OTHER, json, parseBootScript, raw, startHarness } from "./harness.ts";

const PAYLOAD = Buffer.from("#!/bin/sh\necho payload\n");
const SHA = createHash("sha256").update(PAYLOAD).digest("hex");

// ws1 has an A/B layout, ws2 the fakes' create layout.
const resolveSpec = (h: HostEntry): InstallSpec =>
  h.name === "ws1"
    ? ({ ...fakeSpec(h), layout: { mode: "ab", wipe: true, tries: 3 } } as unknown as InstallSpec)
    : fakeSpec(h);

async function harness() {
  const h = await startHarness({
    resolveSpec,
    manifest: JSON.stringify({ kernelArgs: "console=ttyS0", payload: { binarySha256: SHA } }),
  });
  writeFileSync(join(h.dir, "images", "img-1", "automagic-install"), PAYLOAD);
  return h;
}

const reinstall = (url: string, host: string, body: unknown) =>
  fetch(`${url}/api/v1/admin/hosts/${host}/reinstall`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

test("reinstall --via ssh: refused unless the layout is ab; else a run pinned to the address", async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const no = await reinstall(h.url, "ws2", { via: "ssh", address: "127.0.0.1" });
  assert.equal(no.status, 409);
  assert.match((await json(no)).error, /ws2's layout is mode create/);
  assert.equal(h.store.latestRun("ws2"), undefined, "nothing was started");

  const r = await reinstall(h.url, "ws1", { via: "ssh", address: "127.0.0.1" });
  assert.equal(r.status, 200);
  const s = await json(r);
  assert.equal(s.via, "ssh");
  assert.equal(s.address, "127.0.0.1");
  assert.equal(s.serverUrl, "http://127.0.0.1:8080");
  assert.deepEqual(s.payload.argv.slice(1), [
    "--server",
    "http://127.0.0.1:8080",
    "--token-file",
    "/var/lib/automagic/reinstall/token",
    "--action",
    "install",
    "--reboot",
  ]);
  assert.equal(s.payload.sha256, SHA);
  assert.equal(h.store.run(s.run)?.status, "booting");
  // pinned at once: not even the first call may come from elsewhere
  const elsewhere = await raw(h.url, `/api/v1/run/${s.token}/spec`, {}, "GET", {
    from: "127.0.0.2",
  });
  assert.equal(elsewhere.status, 401);
  assert.match(elsewhere.body.toString(), /bound to 127\.0\.0\.1, used from 127\.0\.0\.2/);
  assert.equal((await raw(h.url, `/api/v1/run/${s.token}/spec`)).status, 200);
  assert.equal(h.store.run(s.run)?.status, "running");

  const bin = await fetch(`${h.url}/api/v1/admin/payload`);
  assert.equal(bin.headers.get("x-automagic-sha256"), SHA);
  assert.deepEqual(Buffer.from(await bin.arrayBuffer()), PAYLOAD);

  // a second reinstall cancels the first run and revokes its token
  const again = await json(reinstall(h.url, "ws1", { via: "ssh", address: "127.0.0.1" }));
  assert.equal(again.cancelledRun, s.run);
  assert.equal((await raw(h.url, `/api/v1/run/${s.token}/spec`)).status, 401);
});

test("reinstall --via kexec: kernel and initrd on the token's route, the netboot command line", async (t) => {
  const h = await harness();
  t.after(() => h.close());
  h.neighbours.set("127.0.0.1", OTHER); // loopback is ws2 now
  const s = await json(
    reinstall(h.url, "ws2", { via: "kexec", action: "rescue", address: "127.0.0.1" }),
  );
  assert.equal(s.via, "kexec");
  const k = s.kexec;
  assert.equal(k.kernelUrl, `http://127.0.0.1:8080/api/v1/run/${s.token}/image/vmlinuz`);
  const path = (u: string) => new URL(u).pathname;
  assert.equal((await raw(h.url, path(k.kernelUrl))).body.toString(), "kernel-bytes");
  assert.deepEqual((await raw(h.url, path(k.initrdUrl))).body, h.initrd);
  assert.equal(k.initrdSha256, createHash("sha256").update(h.initrd).digest("hex"));
  for (const bad of ["manifest.json", "automagic-install", "..%2Fcurrent%2Fvmlinuz"])
    assert.equal((await raw(h.url, `/api/v1/run/${s.token}/image/${bad}`)).status, 404, bad);
  assert.equal((await raw(h.url, "/api/v1/run/nosuchtoken/image/vmlinuz")).status, 404);
  const foreign = await raw(h.url, path(k.kernelUrl), {}, "GET", { from: "127.0.0.2" });
  assert.equal(foreign.status, 401);

  // The same host netbooted for the same action gets the same command line.
  await fetch(`${h.url}/api/v1/admin/hosts/ws2/next`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action: "rescue" }),
  });
  const script = await (await fetch(`${h.url}/boot.ipxe?mac=${OTHER}`)).text();
  const { token } = parseBootScript(script);
  const line = /^kernel \S+ (.*) \|\| goto retry$/m.exec(script)![1]!;
  assert.equal(k.cmdline.replace(s.token, "TOKEN"), line.replace(token, "TOKEN"));
  assert.match(k.cmdline, /BOOTIF=01-52-54-00-aa-00-02 console=ttyS0$/);
});

test("reinstall: netboot arms like next; no address, a bad via or action is refused", async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const n = await json(reinstall(h.url, "ws2", { via: "netboot", action: "deploy:nosuch" }));
  assert.match(n.error, /nothing was armed/, "next's own check");
  const ok = await json(reinstall(h.url, "ws2", { via: "netboot" }));
  assert.equal(ok.state, "armed:install", JSON.stringify(ok));
  assert.equal(ok.afterRun, 0);
  assert.equal((await json(fetch(`${h.url}/api/v1/admin/hosts/ws2`))).state, "armed:install");
  h.neighbours.clear();
  const none = await reinstall(h.url, "ws1", { via: "ssh" });
  assert.equal(none.status, 409);
  assert.match((await json(none)).error, /pass --address/);
  assert.equal((await reinstall(h.url, "ws1", { via: "pxe" })).status, 400);
  assert.equal((await reinstall(h.url, "ws1", { via: "kexec", action: "reinstall" })).status, 400);
  assert.equal((await reinstall(h.url, "nosuch", { via: "kexec" })).status, 404);
  // the last address the server saw the host at is the default
  h.store.obs.trace(KNOWN, "http", "boot.ipxe served", { ip: "127.0.0.1" });
  const seen = await json(reinstall(h.url, "ws1", { via: "kexec" }));
  assert.equal(seen.address, "127.0.0.1");
});
