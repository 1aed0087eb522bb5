// The binhost index parser (read as Portage's getbinpkg.PackageIndex reads
// it) and the check of a downloaded gpkg against its entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binpkgMismatch } from "../../../server/mirror/binhost.ts";
import { parsePackagesIndex } from "../../../server/mirror/packages-index.ts";

// Shaped like releases/amd64/binpackages/23.0/x86-64/Packages (long values shortened).
const SAMPLE = `ACCEPT_KEYWORDS: amd64
ACCEPT_LICENSE: @FREE
ARCH: amd64
CBUILD: x86_64-pc-linux-gnu
CHOST: x86_64-pc-linux-gnu
CONFIG_PROTECT: /etc /usr/share/gnupg/qualified.txt
ELIBC: glibc
GENTOO_MIRRORS: http://distfiles.gentoo.org
IUSE_IMPLICIT: abi_x86_64 prefix prefix-guest prefix-stack
KERNEL: linux
PACKAGES: 3
PROFILE: default/linux/amd64/23.0
TIMESTAMP: 1736899200
VERSION: 0

BUILD_ID: 1
BUILD_TIME: 1736812800
CPV: app-arch/xz-utils-5.6.3
DEFINED_PHASES: configure install postinst prepare setup
DESC: Utils for managing LZMA compressed files
EAPI: 8
IUSE: doc +extra-filters pgo nls static-libs
KEYWORDS: ~alpha amd64 arm arm64 x86
LICENSE: 0BSD LGPL-2.1+ GPL-2+ doc? ( CC-BY-SA-3.0 )
MD5: 0F343B0931126A20F133D67C2B018A3B
PATH: app-arch/xz-utils/xz-utils-5.6.3-1.gpkg.tar
PROVIDES: x86_64: liblzma.so.5
RDEPEND: !<app-arch/lzma-4.63 !app-arch/lzma
REQUIRES: x86_64: libc.so.6
SHA1: 1C4F9B3E5D2A8F7C6B0E1D2C3B4A5F6E7D8C9B0A
SIZE: 1392640
SLOT: 0
USE: abi_x86_64 amd64 elibc_glibc extra-filters kernel_linux nls
MTIME: 1736812801
REPO: gentoo

BUILD_ID: 2
BUILD_TIME: 1736812900
CPV: sys-apps/openrc-0.54.2
EAPI: 8
MD5: 9e107d9d372bb6826bd81d3542a419d6
PATH: /sys-apps/openrc/openrc-0.54.2-2.gpkg.tar
SHA1: 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12
SIZE: 573440
SLOT: 0
REPO: gentoo

BUILD_ID: 1
CPV: virtual/libc-1-r1
MD5: d41d8cd98f00b204e9800998ecf8427e
PATH: virtual/libc/libc-1-r1-1.gpkg.tar
SIZE: 20480
this line has no colon and is ignored, as Portage does
DESC:
`;

test("parsePackagesIndex: header, one entry per PATH, digests lower-cased", () => {
  const ix = parsePackagesIndex(SAMPLE);
  assert.equal(ix.header.PROFILE, "default/linux/amd64/23.0");
  assert.equal(ix.header.PACKAGES, "3");
  assert.deepEqual(
    [...ix.packages.keys()],
    [
      "app-arch/xz-utils/xz-utils-5.6.3-1.gpkg.tar",
      "sys-apps/openrc/openrc-0.54.2-2.gpkg.tar", // Portage strips the leading "/" when it builds the URL
      "virtual/libc/libc-1-r1-1.gpkg.tar",
    ],
  );
  assert.deepEqual(ix.packages.get("app-arch/xz-utils/xz-utils-5.6.3-1.gpkg.tar"), {
    cpv: "app-arch/xz-utils-5.6.3",
    path: "app-arch/xz-utils/xz-utils-5.6.3-1.gpkg.tar",
    size: 1392640,
    digests: {
      SHA1: "1c4f9b3e5d2a8f7c6b0e1d2c3b4a5f6e7d8c9b0a",
      MD5: "0f343b0931126a20f133d67c2b018a3b",
    },
  });
  assert.deepEqual(ix.packages.get("virtual/libc/libc-1-r1-1.gpkg.tar")?.digests, {
    MD5: "d41d8cd98f00b204e9800998ecf8427e",
  });
  assert.equal(ix.ambiguous.size, 0);
});

test("parsePackagesIndex: what Portage would not see is not there", () => {
  const ix = parsePackagesIndex(
    [
      "VERSION: 0",
      "",
      "PATH: no-cpv/x/x-1-1.gpkg.tar", // no CPV: Portage skips the block
      "SIZE: 1",
      "",
      "CPV: no-path/y-1", // no PATH: Portage would ask for <cpv>.tbz2
      "SIZE: 1",
      "",
      "CPV: a/crlf-1",
      "PATH: a/crlf/crlf-1-1.gpkg.tar",
      "SIZE: 5\r",
      "",
      "", // an empty block ends the body for Portage
      "CPV: a/after-1",
      "PATH: a/after/after-1-1.gpkg.tar",
      "SIZE: 1",
      "",
    ].join("\n"),
  );
  assert.deepEqual([...ix.packages.keys()], ["a/crlf/crlf-1-1.gpkg.tar"]);
  assert.equal(
    ix.packages.get("a/crlf/crlf-1-1.gpkg.tar")?.size,
    undefined,
    "SIZE 5\\r is no number",
  );
});

test("parsePackagesIndex: a PATH listed twice with other digests is ambiguous", () => {
  const entry = (md5: string) => `CPV: a/b-1\nPATH: a/b/b-1-1.gpkg.tar\nSIZE: 3\nMD5: ${md5}\n\n`;
  const same = parsePackagesIndex(`VERSION: 0\n\n${entry("aa")}${entry("AA")}`);
  assert.equal(same.ambiguous.size, 0);
  const other = parsePackagesIndex(`VERSION: 0\n\n${entry("aa")}${entry("bb")}`);
  assert.deepEqual([...other.ambiguous], ["a/b/b-1-1.gpkg.tar"]);
});

test("parsePackagesIndex: no header is not an index", () => {
  for (const text of ["", "\n\nCPV: a/b-1\n", "<html><body>404 Not Found</body></html>\n"])
    assert.throws(
      () => parsePackagesIndex(text, "up/Packages"),
      /up\/Packages: not a Portage Packages index/,
    );
});

test("binpkgMismatch: SIZE and every digest the entry carries", async (t) => {
  const d = await mkdtemp(join(tmpdir(), "am-binpkg-"));
  t.after(() => rm(d, { recursive: true, force: true }));
  const file = join(d, "x.gpkg.tar");
  const bytes = Buffer.from("not really a tar, but bytes are bytes\n");
  await writeFile(file, bytes);
  const h = (a: string) => createHash(a).update(bytes).digest("hex");
  const entry = (size: number, digests: Record<string, string>) => ({
    cpv: "a/x-1",
    path: "a/x/x-1-1.gpkg.tar",
    size,
    digests,
  });
  const n = bytes.length;
  assert.equal(
    await binpkgMismatch(file, entry(n, { SHA1: h("sha1"), MD5: h("md5") }), "r"),
    undefined,
  );
  assert.equal(await binpkgMismatch(file, entry(n, { MD5: h("md5") }), "r"), undefined);
  assert.equal(await binpkgMismatch(file, entry(n, { BLAKE2B: h("blake2b512") }), "r"), undefined);
  assert.match(
    (await binpkgMismatch(file, entry(n + 1, { SHA1: h("sha1") }), "r")) ?? "",
    new RegExp(`^r: SIZE mismatch \\(index ${n + 1}, got ${n}\\)$`),
  );
  assert.match(
    (await binpkgMismatch(file, entry(n, { SHA1: h("sha1"), MD5: "0".repeat(32) }), "r")) ?? "",
    /^r: MD5 mismatch/,
    "every digest present must match, not just one",
  );
});
