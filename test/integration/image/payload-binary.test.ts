// The single-file payload (SEA runtime + appended bundle) runs by itself:
// on this host, and chrooted into the image's Debian trixie root, which has
// no node at all — the "any x86_64 glibc Linux" promise.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, mkdir, copyFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { ensureRoot } from "../../../image-builder/base/layer.ts";
import { bundlePayload } from "../../../image-builder/payload/bundle.ts";
import { assemblePayload } from "../../../image-builder/payload/assemble.ts";
import { ensureRuntime } from "../../../image-builder/payload/runtime.ts";
import { defaultPaths } from "../../../image-builder/paths.ts";
import { requireTool } from "../../lib/tools.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/marker-payload.ts", import.meta.url));
let work = "";
let binary = "";

before(async () => {
  for (const t of ["strip", "mmdebstrap", "chroot"]) requireTool(t);
  work = await mkdtemp(join(tmpdir(), "automagic-payload-bin-"));
  const cache = defaultPaths().cache;
  const runtime = await ensureRuntime(cache);
  const bundle = join(work, "bundle.mjs");
  await bundlePayload(FIXTURE, bundle);
  binary = join(work, "automagic-install");
  await assemblePayload(runtime.path, bundle, binary);
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test("the single file runs on the host with its arguments", async () => {
  const r = await execa(binary, ["--server", "http://s", "--token", "a b"]);
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], "AUTOMAGIC-PAYLOAD-START");
  assert.equal(lines[1], 'FIXTURE-ARGV ["--server","http://s","--token","a b"]');
  assert.match(lines[2]!, /^FIXTURE-EXEC .*automagic-install node v2\d\./);
  assert.ok((await stat(binary)).size < 100 * 1024 * 1024, "under 100 MB");
});

test(
  "the single file runs inside the image's trixie root, which has no node",
  { timeout: 900_000 },
  async () => {
    const { dir: root } = await ensureRoot(defaultPaths().cache, () => {});
    const jail = join(work, "jail");
    // A hard-link copy, so nothing is written into the cached root.
    await execa("cp", ["-al", root, jail]);
    try {
      const r0 = await execa("chroot", [jail, "sh", "-c", "command -v node || echo none"]);
      assert.equal(r0.stdout.trim(), "none");
      await mkdir(join(jail, "opt"), { recursive: true });
      await copyFile(binary, join(jail, "opt/automagic-install"));
      const r = await execa("chroot", [jail, "/opt/automagic-install", "--action", "rescue"]);
      assert.match(r.stdout, /^AUTOMAGIC-PAYLOAD-START\nFIXTURE-ARGV \["--action","rescue"\]/);
    } finally {
      await rm(jail, { recursive: true, force: true });
    }
  },
);
