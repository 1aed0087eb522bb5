import { test } from "node:test";
import assert from "node:assert/strict";
import type { ProbedSystem } from "../../../payload/probe/types.ts";
import {
  RAM_HEADROOM,
  STAGING_BYTES,
  chooseStaging,
  stagingNeed,
} from "../../../payload/plan/checks.ts";
import { PlanRefusal } from "../../../payload/plan/types.ts";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

function machine(availRam: number, extra: Partial<ProbedSystem> = {}): ProbedSystem {
  return {
    firmware: "bios",
    ramBytes: availRam + 256 * MiB,
    availRamBytes: availRam,
    disks: [],
    home: { device: "/dev/vdb1", entries: [], freeBytes: 50 * GiB },
    ...extra,
  };
}

// The e2e fixture mirror: a ~140 MiB stage3 and a small snapshot.
const small = { stage3Bytes: 146_800_640, snapshotBytes: 9_437_184 };

test("a 2 GiB machine stages ~150 MB of real downloads in RAM", () => {
  const s = chooseStaging(machine(1.7 * GiB, { downloads: small }), "/run/automagic");
  assert.equal(s.where, "ram");
  assert.equal(s.dir, "/run/automagic/staging");
  assert.match(
    s.reason,
    /168 MiB downloads \+ 384 MiB headroom \(stage3 140 MiB \+ snapshot 9 MiB from the mirror, \+10% \+4 MiB\)/,
  );
});

test("the need is the published sizes plus 10% and a fixed 4 MiB", () => {
  const n = stagingNeed(machine(GiB, { downloads: small }));
  assert.equal(n.bytes, Math.ceil((small.stage3Bytes + small.snapshotBytes) * 1.1) + 4 * MiB);
});

test("RAM just short of downloads + headroom goes to /home, just enough stays in RAM", () => {
  const need = stagingNeed(machine(GiB, { downloads: small })).bytes;
  const edge = need + RAM_HEADROOM;
  assert.equal(chooseStaging(machine(edge, { downloads: small }), "/s").where, "ram");
  const s = chooseStaging(machine(edge - 1, { downloads: small }), "/s");
  assert.equal(s.where, "home");
  assert.equal(s.dir, "/s/home/.automagic-staging");
});

test("unknown sizes fall back to the 700 MiB estimate and say so, with the reason", () => {
  const p = machine(GiB, { downloadsUnknown: "fetch failed" });
  assert.equal(stagingNeed(p).bytes, STAGING_BYTES);
  const s = chooseStaging(p, "/s");
  assert.equal(s.where, "home"); // 1 GiB < 700 MiB + 384 MiB
  assert.match(
    s.reason,
    /700 MiB downloads \+ 384 MiB headroom \(download sizes unknown \(fetch failed\): the fixed estimate\)/,
  );
});

test("nowhere to stage: refusal names RAM, /home and the need", () => {
  const p = machine(512 * MiB, { downloads: { stage3Bytes: 500 * MiB, snapshotBytes: 60 * MiB } });
  p.home!.freeBytes = 100 * MiB;
  assert.throws(
    () => chooseStaging(p, "/s"),
    (e: unknown) =>
      e instanceof PlanRefusal &&
      e.field === "staging" &&
      /512 MiB RAM available \(384 MiB of it kept for the RAM system\), 100 MiB free on \/home; need 620 MiB \(stage3 500 MiB/.test(
        e.message,
      ),
  );
});
