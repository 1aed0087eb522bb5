// The probe learns the download sizes from the real verifying mirror (the
// fixture mirror on 127.0.0.1): the stage3 size from the clearsigned pointer,
// verified; the snapshot size from a HEAD. A pointer whose signed text was
// altered by a dishonest static server is refused, not believed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { join } from "node:path";
import express from "express";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import { probeDownloads } from "../../../payload/probe/downloads.ts";
import { AUTOBUILDS, SNAPSHOT } from "../../../shared/verify/layout.ts";
import {
  REPO,
  serveFixture,
  type Fixture,
  type RunningMirror,
  type ServedFixture,
} from "../mirror/helpers.ts";

let fx: Fixture;
let work: string;
let mirror: RunningMirror;
let served: ServedFixture | undefined;

before(async () => {
  served = await serveFixture("probe-sizes");
  ({ fx, work, mirror } = served);
});

after(() => served?.close());

async function specFor(url: string): Promise<InstallSpec> {
  const raw = JSON.parse(
    await readFile(join(REPO, "test/golden/plans/specs/lab-bios-openrc.json"), "utf8"),
  ) as { stage3: Record<string, unknown> };
  raw.stage3 = { ...raw.stage3, mirror: url, trustedKeys: [fx.fingerprint] };
  return parseInstallSpec(raw, "lab-bios-openrc");
}

test("sizes come from the verified pointer and the snapshot's Content-Length", async () => {
  const got = await probeDownloads(await specFor(mirror.url), { scratch: work });
  const tarball = await stat(join(fx.dir, fx.openrcRel));
  const snapshot = await stat(join(fx.dir, SNAPSHOT));
  assert.equal(got.stage3Bytes, tarball.size);
  assert.equal(`${AUTOBUILDS}/${got.stage3Path}`, fx.openrcRel);
  assert.equal(got.snapshotBytes, snapshot.size);
});

test("a pointer altered after signing is refused by the probe", async () => {
  const rel = `${AUTOBUILDS}/latest-stage3-amd64-openrc.txt`;
  const text = await readFile(join(fx.dir, rel), "utf8");
  // Claim a tiny stage3 so the plan would stage in RAM: the signature must catch it.
  const forged = text.replace(/(\.tar\.xz) \d+$/m, "$1 1000");
  assert.notEqual(forged, text);
  const app = express();
  app.get(`/mirror/${rel}`, (_q, r) => void r.type("text/plain").send(forged));
  app.use("/mirror", express.static(fx.dir));
  const server: Server = app.listen(0, "127.0.0.1");
  await new Promise<void>((ok) => server.once("listening", ok));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror/`;
    await assert.rejects(probeDownloads(await specFor(url), { scratch: work }), /signature/i);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  }
});
