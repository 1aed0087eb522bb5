import { test } from "node:test";
import assert from "node:assert/strict";
import { mmdebstrapArgs } from "../../../image-builder/base/mmdebstrap.ts";
import { noInitramfsControl } from "../../../image-builder/base/no-initramfs-deb.ts";
import { baseKey, rootKeys } from "../../../image-builder/base/layer.ts";
import { snapshotOf } from "../../../image-builder/base/snapshot.ts";
import { compressorArgv, parseCompressor } from "../../../image-builder/compress.ts";
import { imageId, manifestSchema } from "../../../image-builder/manifest.ts";
import { renderProgress } from "../../../image-builder/progress.ts";
import { imagesToPrune } from "../../../image-builder/publish.ts";
import { cacheEntriesToPrune } from "../../../image-builder/cache-prune.ts";

test("mmdebstrap argv: minbase, sorted packages, local debs unsplit, doc excludes, suite dir mirror last", () => {
  const args = mmdebstrapArgs(
    {
      suite: "trixie",
      mirror: "http://m/debian",
      components: ["main", "non-free-firmware"],
      packages: ["zstd", "busybox"],
    },
    { localDebs: ["/c/x,y.deb"] },
    "/out",
  );
  assert.deepEqual(args.slice(0, 5), [
    "--mode=root",
    "--variant=minbase",
    "--format=directory",
    "--components=main,non-free-firmware",
    "--include=busybox,zstd",
  ]);
  assert.ok(args.includes("--include=/c/x,y.deb"));
  assert.ok(args.includes("--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount"));
  assert.ok(args.includes("--dpkgopt=path-exclude=/usr/share/man/*"));
  assert.deepEqual(args.slice(-3), ["trixie", "/out", "http://m/debian"]);
});

test("the stand-in package provides linux-initramfs-tool", () => {
  assert.match(noInitramfsControl(), /^Provides: linux-initramfs-tool$/m);
  assert.match(noInitramfsControl(), /^Package: automagic-no-initramfs$/m);
});

test("cache keys change with their inputs and only with them", () => {
  const inputs = { suite: "trixie", mirror: "http://m", components: ["main"], packages: ["a"] };
  const snap = { date: "Sat, 21 Nov 2026 09:15:44 UTC", sha256: "ab".repeat(32) };
  const k = rootKeys(inputs, "r1", snap);
  assert.deepEqual(rootKeys(inputs, "r1", snap), k);
  assert.notEqual(rootKeys({ ...inputs, packages: ["a", "b"] }, "r1", snap).recipe, k.recipe);
  assert.notEqual(rootKeys(inputs, "r2", snap).recipe, k.recipe);
  const withFirmware = { ...inputs, components: ["main", "non-free-firmware"] };
  assert.notEqual(rootKeys(withFirmware, "r1", snap).recipe, k.recipe);
  const k2 = rootKeys(inputs, "r1", { ...snap, sha256: "cd".repeat(32) });
  assert.equal(k2.recipe, k.recipe, "the snapshot is not part of the recipe key (offline reuse)");
  assert.notEqual(k2.full, k.full);
  assert.notEqual(
    baseKey(k.full, "p", { name: "zstd", level: 15 }),
    baseKey(k.full, "p", { name: "gzip", level: 9 }),
  );
});

test("InRelease Date is the snapshot", () => {
  const s = snapshotOf(
    "-----BEGIN PGP SIGNED MESSAGE-----\nOrigin: Debian\nDate: Sat, 21 Nov 2026 09:15:44 UTC\n",
    "u",
  );
  assert.equal(s.date, "Sat, 21 Nov 2026 09:15:44 UTC");
  assert.match(s.sha256, /^[0-9a-f]{64}$/);
  assert.throws(
    () => snapshotOf("Origin: Debian\n", "http://m/InRelease"),
    /http:\/\/m\/InRelease: no Date/,
  );
});

test("compressors: kernel-compatible argv, parsing and errors", () => {
  assert.deepEqual(compressorArgv({ name: "xz", level: 6 }), [
    "xz",
    "-c",
    "-6",
    "--check=crc32",
    "-T0",
  ]);
  assert.ok(!compressorArgv({ name: "zstd", level: 19 }).includes("--long"));
  assert.deepEqual(parseCompressor("gzip"), { name: "gzip", level: 9 });
  assert.deepEqual(parseCompressor("zstd:3"), { name: "zstd", level: 3 });
  assert.throws(() => parseCompressor("lz4"), /expected zstd/);
  assert.throws(() => parseCompressor("zstd:99"), /bad level/);
});

test("image ids sort by time and carry the content hash", () => {
  assert.equal(
    imageId(new Date("2026-11-27T10:08:09.123Z"), "0123456789abcdef"),
    "20261127-100809-0123456789ab",
  );
  assert.ok(manifestSchema.shape.id.safeParse("20261127-100809-0123456789ab").success);
  assert.ok(!manifestSchema.shape.id.safeParse("../etc").success);
});

test("progress lines", () => {
  assert.equal(
    renderProgress({ phase: "pack", message: "archived", bytes: 3 * 1024 * 1024, elapsed: 1.25 }),
    "[   1.3s] pack     archived (3.0 MiB)",
  );
  assert.equal(
    renderProgress({ phase: "root", message: "trixie", elapsed: 0, cached: true }),
    "[   0.0s] root     trixie [cached]",
  );
});

test("pruning keeps the newest images and always the current one", () => {
  const names = [
    "20261127-100000-aaaaaaaaaaaa",
    "20261127-110000-bbbbbbbbbbbb",
    "20261126-090000-cccccccccccc",
    "current",
    ".current-1",
    "notes",
  ];
  assert.deepEqual(imagesToPrune(names, "20261127-110000-bbbbbbbbbbbb", 1), [
    "20261127-100000-aaaaaaaaaaaa",
    "20261126-090000-cccccccccccc",
  ]);
  assert.deepEqual(imagesToPrune(names, "20261126-090000-cccccccccccc", 1), [
    "20261127-100000-aaaaaaaaaaaa",
  ]);
  assert.deepEqual(imagesToPrune(names, undefined, 5), []);
});

test("cache pruning keeps what is in use and the newest other entry", () => {
  const e = [
    { name: "old", mtimeMs: 1 },
    { name: "used", mtimeMs: 2 },
    { name: "newer", mtimeMs: 3 },
    { name: "newest", mtimeMs: 4 },
  ];
  assert.deepEqual(cacheEntriesToPrune(e, new Set(["used"]), 1), ["newer", "old"]);
  assert.deepEqual(cacheEntriesToPrune(e, new Set(["old"]), 0), ["newest", "newer", "used"]);
});
