// Golden tests: every example host renders to its checked-in spec, every
// broken fixture folder produces exactly its checked-in messages, and the
// checked-in JSON Schema is what the code exports.
// UPDATE_GOLDEN=1 rewrites the golden files (review the diff before committing).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { GENTOO_RELEASE_KEY } from "../../../payload/spec/schema.ts";
import {
  HostFileError,
  hostFileJsonSchema,
  loadHostRegistry,
  resolveInstallSpec,
} from "../../../server/hosts/index.ts";
import { assertGolden } from "../../lib/golden.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const hostsDir = relative(process.cwd(), join(root, "hosts")) || ".";
const goldenDir = join(root, "test/golden/hosts");
const brokenDir = join(root, "test/fixtures/hosts/broken");
export const CTX = { mirrorUrl: "http://10.0.2.2:8080/mirror/", trustedKeys: [GENTOO_RELEASE_KEY] };

test("every example host validates and renders to its golden spec", async () => {
  const reg = await loadHostRegistry(hostsDir);
  const names = reg.hosts.map((h) => h.name);
  assert.deepEqual(names, ["example-workstation", "qemu-bios", "qemu-uefi"]);
  for (const h of reg.hosts) {
    const spec = resolveInstallSpec(h, CTX);
    assertGolden(join(goldenDir, `${h.name}.spec.json`), `${JSON.stringify(spec, null, 2)}\n`);
  }
  const goldens = (await readdir(goldenDir)).filter((f) => f.endsWith(".spec.json"));
  assert.deepEqual(goldens.sort(), names.map((n) => `${n}.spec.json`).sort(), "no stale goldens");
});

test("every broken fixture folder produces exactly its golden messages", async () => {
  const cases = (await readdir(brokenDir)).sort();
  assert.ok(cases.length >= 20, `only ${cases.length} broken cases`);
  for (const c of cases) {
    const dir = relative(process.cwd(), join(brokenDir, c));
    const err = await loadHostRegistry(dir).then(
      () => assert.fail(`${c}: loaded without an error`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HostFileError, `${c}: ${String(err)}`);
    for (const m of err.messages) assert.match(m, /^\S+: \S.*: \S/, `${c}: "file: path: reason"`);
    // Goldens read as if the folder were hosts/, so they do not depend on the checkout path.
    const text = err.messages.map((m) => m.split(dir).join("hosts")).join("\n");
    assertGolden(join(goldenDir, "broken", `${c}.txt`), `${text}\n`);
  }
  const goldens = (await readdir(join(goldenDir, "broken"))).sort();
  assert.deepEqual(goldens, cases.map((c) => `${c}.txt`).sort(), "no stale goldens");
});

test("hosts/host.schema.json is the exported JSON Schema, and every example points to it", async () => {
  const onDisk: unknown = JSON.parse(await readFile(join(root, "hosts/host.schema.json"), "utf8"));
  assert.deepEqual(
    onDisk,
    hostFileJsonSchema(),
    "run: ./bin/automagic hosts schema -o hosts/host.schema.json",
  );
  for (const f of (await readdir(join(root, "hosts"))).filter((n) => n.endsWith(".yaml"))) {
    const first = (await readFile(join(root, "hosts", f), "utf8")).split("\n")[0];
    assert.equal(first, "# yaml-language-server: $schema=host.schema.json", f);
  }
});
