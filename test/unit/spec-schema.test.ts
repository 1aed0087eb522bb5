import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec, formatPath } from "../../payload/spec/schema.ts";
import { minimalSpecInput } from "../fakes/install-spec.ts";

const minimal = minimalSpecInput();

test("a minimal spec parses and gets defaults", () => {
  const s = parseInstallSpec(minimal);
  assert.equal(s.portage.binhost, true);
  assert.equal(s.kernel.package, "sys-kernel/gentoo-kernel-bin");
  assert.deepEqual(s.users, []);
});

test("errors name the field path", () => {
  const bad = { ...minimal, users: [{ name: "a", uid: 1000, gid: 1000, password: "hunter2" }] };
  assert.throws(() => parseInstallSpec(bad, "x.json"), /x\.json: users\[0\]\.password: /m);
});

test("a disk selector needs a stable property", () => {
  assert.throws(() => parseInstallSpec({ ...minimal, disk: {} }), /disk: needs at least one/);
});

test("formatPath", () => {
  assert.equal(formatPath(["users", 1, "uid"]), "users[1].uid");
  assert.equal(formatPath([]), "(root)");
});
