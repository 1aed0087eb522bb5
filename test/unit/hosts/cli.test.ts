// `automagic hosts ...` as a person runs it: exit codes, stdout and stderr.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const root = fileURLToPath(new URL("../../../", import.meta.url));
// The checkout's hosts/ as the default folder (installed: /etc/automagic/hosts).
const cli = (...args: string[]) =>
  execa(join(root, "bin/automagic"), args, {
    cwd: root,
    reject: false,
    env: { AUTOMAGIC_HOSTS: "hosts" },
  });

test("hosts validate hosts/ exits 0", async () => {
  const r = await cli("hosts", "validate", "hosts");
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, "hosts: 3 hosts OK (example-workstation, qemu-bios, qemu-uefi)");
});

test("hosts validate on a broken folder prints every problem and exits 1", async () => {
  const dir = "test/fixtures/hosts/broken/duplicate-uid";
  const r = await cli("hosts", "validate", dir);
  assert.equal(r.exitCode, 1);
  const expected = (
    await readFile(join(root, "test/golden/hosts/broken/duplicate-uid.txt"), "utf8")
  )
    .trimEnd()
    .split("hosts/")
    .join(`${dir}/`);
  assert.equal(r.stderr, `${expected}\n3 problems in ${dir}`);
  assert.equal(r.stdout, "");
});

test("hosts list prints host, MACs, firmware, disk", async () => {
  const r = await cli("hosts", "list", "hosts");
  assert.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.match(lines[0]!, /^HOST\s+MACS\s+FIRMWARE\s+DISK\s+LAYOUT\s+GROUPS$/);
  assert.match(
    lines[2]!,
    /^qemu-bios\s+52:54:00:a0:00:01\s+bios\s+serial=AM-SYS-BIOS\s+keep\s+qemu,bios$/,
  );
  const json = await cli("hosts", "list", "--json", "hosts");
  const first = JSON.parse(json.stdout.split("\n")[1]!) as { name: string; disk: object };
  assert.deepEqual(first.disk, { serial: "AM-SYS-BIOS" });
});

test("hosts render redacts unless --with-secrets, and matches the golden spec", async () => {
  const args = ["hosts", "render", "qemu-bios", "--mirror", "http://10.0.2.2:8080/mirror/"];
  const red = await cli(...args);
  assert.equal(red.exitCode, 0, red.stderr);
  assert.doesNotMatch(red.stdout, /\$6\$/);
  assert.match(red.stdout, /"password": "<redacted>"/);
  const full = await cli(...args, "--with-secrets");
  const golden = await readFile(join(root, "test/golden/hosts/qemu-bios.spec.json"), "utf8");
  assert.equal(`${full.stdout}\n`, golden);
  const missing = await cli("hosts", "render", "nope");
  assert.equal(missing.exitCode, 3); // not found (docs/CLI.md)
  assert.match(
    missing.stderr,
    /no host "nope" in hosts \(known: example-workstation, qemu-bios, qemu-uefi\)/,
  );
});

test("hosts schema prints the checked-in JSON Schema; every subcommand has --help", async () => {
  const r = await cli("hosts", "schema");
  const onDisk = await readFile(join(root, "hosts/host.schema.json"), "utf8");
  assert.deepEqual(JSON.parse(r.stdout), JSON.parse(onDisk));
  for (const sub of ["validate", "list", "render", "schema"]) {
    const h = await cli("hosts", sub, "--help");
    assert.equal(h.exitCode, 0);
    assert.match(h.stdout, new RegExp(`Usage: automagic hosts ${sub}`));
  }
});
