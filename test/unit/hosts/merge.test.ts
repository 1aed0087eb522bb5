import { test } from "node:test";
import assert from "node:assert/strict";
import { mergeLayers, originOf } from "../../../server/hosts/merge.ts";

const layers = [
  {
    file: "d.yaml",
    data: {
      portage: { profile: "p", makeConf: { A: "1" } },
      packages: ["a", "b"],
      layout: { mode: "keep", root: { label: "r" } },
      keymap: "us",
    },
  },
  {
    file: "h.yaml",
    data: {
      portage: { makeConf: { B: "2" } },
      packages: ["c"],
      layout: { mode: "create", wipe: { serial: "S" } },
      keymap: null,
    },
  },
];

test("mappings merge, lists replace, null removes, a new mode replaces", () => {
  const { data } = mergeLayers(layers);
  assert.deepEqual(data, {
    portage: { profile: "p", makeConf: { A: "1", B: "2" } },
    packages: ["c"],
    layout: { mode: "create", wipe: { serial: "S" } },
  });
});

test("origins: a value is blamed on the file that set it", () => {
  const { origins } = mergeLayers(layers);
  assert.equal(originOf(origins, ["portage", "profile"], "h.yaml"), "d.yaml");
  assert.equal(originOf(origins, ["portage", "makeConf", "B"], "x"), "h.yaml");
  assert.equal(originOf(origins, ["packages", 0], "x"), "h.yaml");
  // the replaced keep layout's root leaves no trace
  assert.equal(originOf(origins, ["layout", "root"], "fallback"), "fallback");
  // a mapping built from two files is blamed on the fallback (the host)
  assert.equal(originOf(origins, ["portage"], "fallback"), "fallback");
  assert.equal(originOf(origins, ["layout"], "fallback"), "h.yaml");
  // missing values are the host's
  assert.equal(originOf(origins, ["timezone"], "fallback"), "fallback");
});
