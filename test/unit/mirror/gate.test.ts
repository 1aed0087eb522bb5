// What the mirror may fetch for a client without a run token: only what the
// current host files use (server/mirror/gate.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bearerToken,
  demandFromHosts,
  demandOf,
  unusedReason,
} from "../../../server/mirror/gate.ts";
import { classifyMirrorPath, type MirrorTarget } from "../../../server/mirror/paths.ts";

const target = (path: string): MirrorTarget => {
  const c = classifyMirrorPath(path);
  if (!c.ok) throw new Error(c.reason);
  return c.target;
};
const spec = (variant: string, binhostUrl?: string) => ({
  stage3: { variant },
  portage: binhostUrl ? { binhostUrl } : {},
});

test("gate: the demand is the host files' stage3 variants and binhost folders", () => {
  const d = demandOf([
    spec("openrc", "http://10.0.0.1:8080/mirror/releases/amd64/binpackages/23.0/x86-64/"),
    spec("systemd"),
    spec("openrc", "http://10.0.0.1:8080/mirror/releases/amd64/binpackages/23.0/x86-64/"),
  ]);
  assert.deepEqual([...d.variants].sort(), ["openrc", "systemd"]);
  assert.deepEqual([...d.binhosts], ["23.0/x86-64"]);
});

test("gate: a variant or binhost no host file uses is named in the reason; used ones and the rest pass", () => {
  const d = demandOf([spec("openrc", "http://s/mirror/releases/amd64/binpackages/23.0/x86-64/")]);
  const A = "/releases/amd64/autobuilds";
  assert.equal(
    unusedReason(target(`${A}/latest-stage3-amd64-desktop-openrc.txt`), d),
    'stage3 variant "desktop-openrc": no host file uses it',
  );
  assert.equal(
    unusedReason(
      target(`${A}/20261207T101730Z/stage3-amd64-systemd-20261207T101730Z.tar.xz.asc`),
      d,
    ),
    'stage3 variant "systemd": no host file uses it',
  );
  assert.equal(
    unusedReason(target("/releases/amd64/binpackages/17.1/x86-64-v3/Packages"), d),
    "binhost 17.1/x86-64-v3: no host file uses it",
  );
  assert.equal(
    unusedReason(
      target("/releases/amd64/binpackages/17.1/x86-64/app-misc/hello/hello-2.12-1.gpkg.tar"),
      d,
    ),
    "binhost 17.1/x86-64: no host file uses it",
  );
  for (const ok of [
    `${A}/latest-stage3-amd64-openrc.txt`,
    `${A}/20261207T101730Z/stage3-amd64-openrc-20261207T101730Z.tar.xz`,
    "/releases/amd64/binpackages/23.0/x86-64/Packages",
    "/snapshots/gentoo-latest.tar.xz",
    `/keys/${"A".repeat(40)}.asc`,
  ])
    assert.equal(unusedReason(target(ok), d), undefined, ok);
});

test("gate: the run token comes from Authorization: Bearer", () => {
  assert.equal(bearerToken("Bearer abc_DEF-123"), "abc_DEF-123");
  assert.equal(bearerToken("bearer   abc"), "abc");
  assert.equal(bearerToken("Basic abc"), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test("gate: the host demand is computed once per host registry; a host whose spec fails is skipped", () => {
  let hosts = [{ v: "openrc" }, { v: "BAD" }];
  let calls = 0;
  const failed: string[] = [];
  const demand = demandFromHosts(
    () => hosts,
    (h) => {
      calls++;
      if (h.v === "BAD") throw new Error("bad spec");
      return spec(h.v);
    },
    (h, err) => failed.push(`${h.v}: ${(err as Error).message}`),
  );
  assert.deepEqual([...demand().variants], ["openrc"]);
  assert.deepEqual([...demand().variants], ["openrc"]);
  assert.equal(calls, 2, "second call memoised");
  assert.deepEqual(failed, ["BAD: bad spec"]);
  hosts = [{ v: "systemd" }]; // a reload swaps the array
  assert.deepEqual([...demand().variants], ["systemd"]);
});

test("gate: emerge-webrsync's dated snapshots of the last two weeks need no token, older ones do", () => {
  const now = Date.UTC(2026, 11, 7, 12);
  const d = demandOf([]);
  assert.equal(unusedReason(target("/snapshots/gentoo-20261206.tar.xz"), d, now), undefined);
  assert.equal(unusedReason(target("/snapshots/gentoo-20261124.tar.xz.md5sum"), d, now), undefined);
  assert.equal(
    unusedReason(target("/snapshots/gentoo-20261101.tar.xz"), d, now),
    "snapshot of 20261101: not within the last 14 days",
  );
  assert.match(
    unusedReason(target("/snapshots/gentoo-20270101.tar.xz"), d, now) ?? "",
    /not within/,
  );
});
