import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classifyMirrorPath, isInside, safeResolve } from "../../../server/mirror/paths.ts";

const A = "/releases/amd64/autobuilds";
const STAGE = `${A}/20260101T000000Z/stage3-amd64-openrc-20260101T000000Z.tar.xz`;

test("the Gentoo paths a payload asks for are recognised", () => {
  const k = (p: string) => {
    const c = classifyMirrorPath(p);
    return c.ok ? c.target : c;
  };
  assert.deepEqual(k(`${A}/latest-stage3-amd64-openrc.txt`), {
    kind: "pointer",
    rel: `${A.slice(1)}/latest-stage3-amd64-openrc.txt`,
    variant: "openrc",
  });
  assert.equal(
    (k(`${A}/latest-stage3-amd64-desktop-systemd.txt`) as { variant: string }).variant,
    "desktop-systemd",
  );
  for (const ext of ["", ".asc", ".DIGESTS"] as const) {
    const t = k(STAGE + ext) as { kind: string; ext: string; tarballRel: string; stamp: string };
    assert.equal(t.kind, "stage3");
    assert.equal(t.ext, ext);
    assert.equal(t.tarballRel, STAGE.slice(1));
    assert.equal(t.stamp, "20260101T000000Z");
  }
  assert.equal((k("/snapshots/gentoo-latest.tar.xz") as { kind: string }).kind, "snapshot");
  assert.equal((k("/snapshots/gentoo-latest.tar.xz.gpgsig") as { ext: string }).ext, ".gpgsig");
  // emerge-webrsync's dated snapshots (installed systems' emerge --sync)
  for (const ext of ["", ".gpgsig", ".md5sum"] as const) {
    assert.deepEqual(k(`/snapshots/gentoo-20261206.tar.xz${ext}`), {
      kind: "dated",
      rel: `snapshots/gentoo-20261206.tar.xz${ext}`,
      date: "20261206",
      ext,
      tarballRel: "snapshots/gentoo-20261206.tar.xz",
    });
  }
  assert.equal(
    (k(`/keys/${"A".repeat(40)}.asc`) as { fingerprint: string }).fingerprint,
    "A".repeat(40),
  );
});

test("traversal in every spelling is refused with 400 before touching the disk", () => {
  const evil = [
    "/../etc/passwd",
    `${A}/../../../../etc/passwd`,
    `${A}/%2e%2e/%2e%2e/etc/passwd`,
    `${A}/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd`,
    `${A}/..%2f..%2fetc`,
    `${A}/.%2e/x`,
    "//etc/passwd",
    `${A}//latest-stage3-amd64-openrc.txt`,
    `${A}\\..\\..\\etc\\passwd`,
    `${A}/latest-stage3-amd64-openrc.txt%00.xz`,
    `${A}/%c0%ae%c0%ae/etc`, // overlong UTF-8 dot
    `${A}/%`,
    "/keys/.hidden",
    `${A}/./latest-stage3-amd64-openrc.txt`,
  ];
  for (const p of evil) {
    const c = classifyMirrorPath(p);
    assert.equal(c.ok, false, p);
    assert.equal(!c.ok && c.status, 400, `${p}: ${!c.ok && c.reason}`);
  }
});

test("anything that is not one of the mirror's files is 404", () => {
  const other = [
    "/etc/passwd",
    "/",
    "/releases/amd64/autobuilds",
    `${A}/latest-stage3-amd64-openrc.txt.bak`,
    `${A}/latest-stage3-amd64-OpenRC.txt`,
    `${A}/20260101T000000Z/stage3-amd64-openrc-20260102T000000Z.tar.xz`, // stamp mismatch
    `${A}/20260101T000000Z/stage3-amd64-openrc-20260101T000000Z.tar.xz.CONTENTS.gz`,
    `${A}/current-stage3-amd64-openrc/stage3.tar.xz`,
    `${A}/%252e%252e/x`, // double-encoded: decodes once to a literal "%2e%2e" name
    "/snapshots/gentoo-2026010.tar.xz",
    "/snapshots/portage-20260101.tar.bz2",
    "/snapshots/gentoo-20260101.tar.xz.asc",
    "/keys/abc.asc",
    `/keys/${"a".repeat(40)}.asc`, // fingerprints are upper-case
    "/.staging/x",
  ];
  for (const p of other) {
    const c = classifyMirrorPath(p);
    assert.equal(c.ok, false, p);
  }
  assert.equal(classifyMirrorPath(`${A}/%252e%252e/x`).ok, false);
});

test("isInside", () => {
  assert.equal(isInside("/a/b", "/a/b"), true);
  assert.equal(isInside("/a/b", "/a/b/c"), true);
  assert.equal(isInside("/a/b", "/a/bc"), false);
  assert.equal(isInside("/a/b", "/a"), false);
  assert.equal(isInside("/a/b", "/a/b/../c"), false);
});

test("safeResolve follows symlinks only while they stay inside the root", async () => {
  const d = await mkdtemp(join(tmpdir(), "mirror-paths-"));
  try {
    const root = join(d, "root");
    await mkdir(join(root, "sub"), { recursive: true });
    await writeFile(join(root, "sub", "f"), "x");
    await writeFile(join(d, "secret"), "s");
    await symlink("sub/f", join(root, "inside-link"));
    await symlink("../secret", join(root, "outside-link"));
    await symlink("/etc/passwd", join(root, "absolute-link"));
    await symlink(d, join(root, "dir-link"));
    assert.equal(await safeResolve(root, "sub/f"), join(root, "sub", "f"));
    assert.equal(await safeResolve(root, "inside-link"), join(root, "sub", "f"));
    assert.equal(await safeResolve(root, "missing"), undefined);
    await assert.rejects(safeResolve(root, "outside-link"), /symlink leads outside/);
    await assert.rejects(safeResolve(root, "absolute-link"), /symlink leads outside/);
    await assert.rejects(safeResolve(root, "dir-link/secret"), /symlink leads outside/);
    await assert.rejects(safeResolve(root, "../secret"), /escapes/);
    await assert.rejects(safeResolve(root, "/etc/passwd"), /escapes/);
    await assert.rejects(safeResolve(root, "sub"), /not a regular file/);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});

const B = "/releases/amd64/binpackages/23.0/x86-64";

test("the binhost's index and gpkgs are recognised", () => {
  assert.deepEqual(classifyMirrorPath(`${B}/Packages`), {
    ok: true,
    target: { kind: "binindex", rel: `${B.slice(1)}/Packages`, release: "23.0", isa: "x86-64" },
  });
  const gpkgs = [
    "sys-apps/openrc/openrc-0.54.2-1.gpkg.tar",
    "dev-lang/python/python-3.12.8_p1-r1-3.gpkg.tar",
    "sys-kernel/gentoo-kernel-bin/gentoo-kernel-bin-6.12.9-1.gpkg.tar",
    "app-arch/xz-utils/xz-utils-5.6.3-1.gpkg.tar",
    "virtual/libc/libc-1-r1-1.gpkg.tar",
    "dev-cpp/gtest/gtest-1.15.2-2.gpkg.tar",
    "x11-libs/gtk+/gtk+-3.24.43-1.gpkg.tar",
    "sys-libs/glibc/glibc-2.40_rc1-r7-12.gpkg.tar",
  ];
  for (const p of gpkgs) {
    const c = classifyMirrorPath(`${B}/${p}`);
    assert.deepEqual(
      c,
      {
        ok: true,
        target: {
          kind: "binpkg",
          rel: `${B.slice(1)}/${p}`,
          release: "23.0",
          isa: "x86-64",
          path: p,
        },
      },
      p,
    );
  }
  const v3 = classifyMirrorPath("/releases/amd64/binpackages/17.1/x86-64-v3/Packages");
  assert.equal(v3.ok && v3.target.kind === "binindex" && v3.target.isa, "x86-64-v3");
});

test("nothing else under binpackages, and no traversal into it", () => {
  const refused = [
    `${B}`,
    `${B}/`,
    `${B}/Packages.gz`,
    `${B}/packages`,
    `${B}/Packages/x`,
    `${B}/sys-apps/openrc/openrc-0.54.2-1.xpak`,
    `${B}/sys-apps/openrc/openrc-0.54.2-1.tbz2`,
    `${B}/sys-apps/openrc/openrc-0.54.2-1.gpkg.tar.asc`,
    `${B}/sys-apps/openrc/openrc-0.54.2-1.gpkg`,
    `${B}/sys-apps/openrc/openrc-0.54.2.gpkg.tar`, // no build id
    `${B}/sys-apps/openrc/other-0.54.2-1.gpkg.tar`, // file does not belong to the pn
    `${B}/sys-apps/openrc/openrc-x-1.gpkg.tar`, // not a version
    `${B}/sys-apps/openrc-0.54.2-1.gpkg.tar`, // wrong depth (not multi-instance)
    `${B}/openrc-0.54.2-1.gpkg.tar`,
    `${B}/x/sys-apps/openrc/openrc-0.54.2-1.gpkg.tar`,
    `${B}/sys-apps/openrc/openrc-0.54.2-1.gpkg.tar/Packages`,
    "/releases/amd64/binpackages/Packages",
    "/releases/amd64/binpackages/23.0/Packages",
    "/releases/amd64/binpackages/23/x86-64/Packages",
    "/releases/amd64/binpackages/23.0.1/x86-64/Packages",
    "/releases/amd64/binpackages/latest/x86-64/Packages",
    "/releases/amd64/binpackages/23.0/X86-64/Packages",
    "/releases/amd64/binpackages/23.0/x86-64-/Packages",
    "/releases/arm64/binpackages/23.0/arm64/Packages",
    `${B}/../x86-64/Packages`,
    `${B}/%2e%2e/%2e%2e/23.0/x86-64/Packages`,
    `${B}/sys-apps%2fopenrc/openrc-0.54.2-1.gpkg.tar`,
    `${B}/sys-apps/openrc/..%2fopenrc-0.54.2-1.gpkg.tar`,
    `${B}/sys-apps/openrc/openrc-0.54.2-1.gpkg.tar%00`,
    `${B}/.staging/openrc/openrc-0.54.2-1.gpkg.tar`,
    `${B}/sys-apps/.openrc/openrc-0.54.2-1.gpkg.tar`,
  ];
  for (const p of refused) assert.equal(classifyMirrorPath(p).ok, false, p);
  // Traversal spellings are refused as malformed (400), not merely unknown.
  for (const p of [`${B}/../x86-64/Packages`, `${B}/sys-apps%2fopenrc/openrc-0.54.2-1.gpkg.tar`]) {
    const c = classifyMirrorPath(p);
    assert.equal(!c.ok && c.status, 400, p);
  }
});
