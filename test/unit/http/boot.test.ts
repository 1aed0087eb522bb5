import { test } from "node:test";
import assert from "node:assert/strict";
import { KNOWN, UNKNOWN, parseBootScript, raw, startHarness, json } from "./harness.ts";

test("boot.ipxe: unknown MAC boots local and is listed as discovered", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const r = await fetch(`${h.url}/boot.ipxe?mac=${UNKNOWN}&arch=x86_64&uuid=u-1`);
  assert.equal(r.status, 200);
  assert.equal(
    await r.text(),
    `#!ipxe\n# automagic: ${UNKNOWN} -> local (unknown MAC (recorded as discovered))\niseq \${platform} efi && exit 1 ||\nexit\n`,
  );
  const d = await json(fetch(`${h.url}/api/v1/admin/discovered`));
  assert.equal(d.length, 1);
  assert.equal(d[0].mac, UNKNOWN);
  assert.equal(d[0].arch, "x86_64");
});

test("boot.ipxe: known but unarmed boots local; without mac it chains back with the NIC's MAC", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const r = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  assert.match(r, /-> local \(no action armed\)\niseq \$\{platform\} efi && exit 1 \|\|\nexit\n$/);
  const c = await (await fetch(`${h.url}/boot.ipxe`)).text();
  assert.match(c, /^chain http:\/\/127\.0\.0\.1:8080\/boot\.ipxe\?mac=\$\{netX\/mac\}/m);
  const bad = await (await fetch(`${h.url}/boot.ipxe?mac=not-a-mac`)).text();
  assert.match(bad, /local \(malformed MAC\)\niseq \$\{platform\} efi && exit 1 \|\|\nexit\n$/);
});

for (const action of ["install", "capture", "rescue", "deploy:gold-1"]) {
  test(`boot.ipxe: armed ${action} -> kernel+initrd with token, then consumed`, async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    if (action !== "deploy:gold-1") {
      const arm = await fetch(`${h.url}/api/v1/admin/hosts/ws1/next`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action }),
      });
      assert.equal(arm.status, 200);
      assert.equal((await json(arm)).state, `armed:${action}`);
    } else {
      // Not armable through the API yet (admin.test.ts); the renderer still
      // handles one armed by an older server's state.
      h.store.arm("ws1", "deploy:gold-1");
    }
    const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN.toUpperCase()}`)).text();
    assert.match(text, new RegExp(`automagic\\.action=${action} BOOTIF=01-52-54-00-aa-00-01 `));
    const s = parseBootScript(text);
    assert.match(s.kernel, /^http:\/\/127\.0\.0\.1:8080\/images\/img-1\/[0-9a-f]{16}\/vmlinuz$/);
    // artifacts fetchable from the script's URLs
    const k = await raw(h.url, new URL(s.kernel).pathname);
    assert.equal(k.body.toString(), "kernel-bytes");
    const status = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1`));
    assert.equal(status.state, `running:${action}`);
    // payload starts: a second netboot goes to the disk
    assert.equal((await fetch(`${h.url}/api/v1/run/${s.token}/spec`)).status, 200);
    assert.match(
      await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text(),
      /in progress\)\niseq \$\{platform\} efi && exit 1 \|\|\nexit\n$/,
    );
    const trace = await json(fetch(`${h.url}/api/v1/admin/hosts/ws1/trace`));
    assert.deepEqual(
      trace.trace.map((e: { what: string }) => e.what),
      ["boot.ipxe served", "vmlinuz fetched", "spec fetched", "boot.ipxe served"],
    );
  });
}

test("boot.ipxe: armed without an image says so and leaves the action armed", async (t) => {
  const h = await startHarness({ image: false });
  t.after(() => h.close());
  h.store.arm("ws1", "install");
  const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  assert.match(text, /no netboot image/);
  assert.match(text, /\niseq \$\{platform\} efi && exit 1 \|\|\nexit\n$/);
  assert.equal(h.store.hostFacts("ws1").armed, "install");
});

test("boot.ipxe: sanboot configured for local", async (t) => {
  const h = await startHarness({ config: { localBoot: "sanboot" } });
  t.after(() => h.close());
  const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  assert.match(
    text,
    /\nsanboot --no-describe --drive 0x80 \|\|\niseq \$\{platform\} efi && exit 1 \|\|\nexit\n$/,
  );
});

test("boot.ipxe: the kernel line carries the image manifest's kernelArgs instead of the default consoles", async (t) => {
  const args = "console=tty0 console=ttyS0,115200n8 quiet cryptomgr.notests";
  const h = await startHarness({ manifest: JSON.stringify({ kernelArgs: args }) });
  t.after(() => h.close());
  h.store.arm("ws1", "install");
  const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
  const kernel = text.split("\n").find((l) => l.startsWith("kernel "));
  assert.ok(kernel?.includes(` BOOTIF=01-52-54-00-aa-00-01 ${args} || goto retry`), kernel);
  assert.ok(!kernel!.includes("console=ttyS0,115200 "), kernel);
});

test("boot.ipxe: an image without usable kernelArgs gets both consoles", async () => {
  for (const manifest of [undefined, "{}", '{"kernelArgs":"quiet ${evil}"}', "not json"]) {
    const h = await startHarness(manifest === undefined ? {} : { manifest });
    h.store.arm("ws1", "install");
    const text = await (await fetch(`${h.url}/boot.ipxe?mac=${KNOWN}`)).text();
    await h.close();
    assert.match(
      text,
      /BOOTIF=\S+ console=ttyS0,115200 console=tty0 \|\| goto retry/,
      String(manifest),
    );
    assert.ok(!text.includes("evil"), String(manifest));
  }
});
