import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSize, parseSize } from "../../../server/hosts/units.ts";
import { normalizeMac } from "../../../server/policy/mac.ts";

test("sizes: binary units for K/M/G/T and KiB.., decimal for KB..", () => {
  assert.equal(parseSize("512MiB"), 512 * 2 ** 20);
  assert.equal(parseSize("20G"), 20 * 2 ** 30);
  assert.equal(parseSize("20g"), 20 * 2 ** 30);
  assert.equal(parseSize("1.5T"), 1.5 * 2 ** 40);
  assert.equal(parseSize("500GB"), 500e9);
  assert.equal(parseSize("4096"), 4096);
  assert.equal(parseSize(0), 0);
  assert.equal(parseSize(1048576), 1048576);
});

test("sizes: refusals say why", () => {
  assert.match(String(parseSize("512XB")), /is not a size/);
  assert.match(String(parseSize("12iB")), /unknown unit/);
  assert.match(String(parseSize(-1)), /whole number/);
  assert.match(String(parseSize(1.5)), /whole number/);
  assert.match(String(parseSize(true)), /a size such as/);
});

test("MACs: one parser for host files, boot requests and the CLI; every common notation", () => {
  for (const v of [
    "52:54:00:AB:CD:EF",
    "52-54-00-ab-cd-ef",
    "5254.00ab.cdef",
    "525400ABCDEF",
    "01-52-54-00-ab-cd-ef", // BOOTIF
  ]) {
    assert.equal(normalizeMac(v), "52:54:00:ab:cd:ef", v);
  }
  for (const v of ["52:54:00:ab:cd", "52:54-00:ab:cd:ef", "zz:54:00:ab:cd:ef", "", "5254.00ab"]) {
    assert.equal(normalizeMac(v), undefined, v);
  }
});

test("formatSize picks binary when round, decimal otherwise", () => {
  assert.equal(formatSize(512 * 2 ** 20), "512MiB");
  assert.equal(formatSize(900e9), "900GB");
  assert.equal(formatSize(1.2e12), "1.2TB");
  assert.equal(formatSize(100), "100B");
});
