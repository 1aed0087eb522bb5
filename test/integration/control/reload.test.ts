// Host files reload on change and on SIGHUP; a broken edit keeps the previous
// registry; a run in progress keeps its token across reloads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { allowBootFrom, cli, freePort, makeWorld, startServe } from "./serve-process.ts";
import { waitFor } from "../../lib/wait.ts";

test("reload: file change adds a host, a broken file keeps the old set, SIGHUP reloads, runs survive", async (t) => {
  const world = makeWorld();
  allowBootFrom(world, "qemu-bios");
  t.after(() => world.close());
  const port = await freePort();
  const s = await startServe(world, ["--http-port", String(port), "--no-tftp"]);
  t.after(() => s.stop());
  const env = { AUTOMAGIC_SERVER: s.url };
  const hostsNow = async () =>
    (JSON.parse((await cli(["status", "--json"], env)).stdout) as Array<{ host: string }>).map(
      (h) => h.host,
    );

  await cli(["next", "qemu-bios", "install"], env);
  const script = await (await fetch(`${s.url}/boot.ipxe?mac=52:54:00:a0:00:01`)).text();
  const token = /automagic\.token=(\S+)/.exec(script)![1]!;

  const uefi = readFileSync(join(world.hostsDir, "qemu-uefi.yaml"), "utf8");
  writeFileSync(
    join(world.hostsDir, "lab3.yaml"),
    uefi.replace("52:54:00:a0:00:02", "52:54:00:a0:00:33"),
  );
  await waitFor("lab3 to appear", async () => (await hostsNow()).includes("lab3"));

  writeFileSync(join(world.hostsDir, "lab4.yaml"), "macs: [not-a-mac\n");
  await waitFor("the failed reload to be logged", async () =>
    s.log().includes("hosts reload failed"),
  );
  assert.ok((await hostsNow()).includes("lab3"), "previous registry kept");
  assert.match(s.log(), /lab4\.yaml/);

  writeFileSync(
    join(world.hostsDir, "lab4.yaml"),
    uefi.replace("52:54:00:a0:00:02", "52:54:00:a0:00:44"),
  );
  s.proc.kill("SIGHUP");
  await waitFor("lab4 after SIGHUP", async () => (await hostsNow()).includes("lab4"));
  assert.match(s.log(), /"why":"SIGHUP"/);

  const spec = await fetch(`${s.url}/api/v1/run/${token}/spec`);
  assert.equal(spec.status, 200, "the run's token outlives reloads");
});
