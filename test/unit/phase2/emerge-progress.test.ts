import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  emergeReasons,
  foldEmerge,
  initialProgress,
  parseEmergeLine,
  parseEmergeOutput,
} from "../../../payload/phase2/emerge-progress.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/emerge/${name}`, import.meta.url), "utf8");

test("parallel jobs (portage PR #987): out-of-order lines, merged counted once each", () => {
  const p = parseEmergeOutput(fixture("portage-pr987-parallel.txt"));
  assert.equal(p.total, 45);
  assert.equal(p.done, 3);
  assert.deepEqual(p.merged, [
    "sys-firmware/intel-microcode-20230214_p20230212",
    "acct-group/floppy-0",
    "dev-libs/libpcre2-10.42-r1",
  ]);
  assert.equal(p.current, "dev-libs/libpcre2-10.42-r1");
  assert.equal(p.binaries, 0);
  assert.deepEqual(p.failed, []);
});

test("binary merges with a Jobs line (13 of 13)", () => {
  const p = parseEmergeOutput(fixture("kubler-binary-13.txt"));
  assert.equal(p.total, 13);
  assert.equal(p.done, 13);
  assert.equal(p.binaries, 13);
  assert.equal(p.merged[0], "app-arch/bzip2-1.0.6-r8");
  assert.equal(p.merged[12], "net-analyzer/nmap-7.40");
  assert.equal(p.current, "net-analyzer/nmap-7.40");
});

test("indented output (Gentoo wiki quickpkg-direct example)", () => {
  const p = parseEmergeOutput(fixture("wiki-quickpkg-direct.txt"));
  assert.equal(p.total, 3);
  assert.deepEqual(p.merged, [
    "sys-libs/musl-1.2.1-r2",
    "virtual/libcrypt-1-r1",
    "sys-apps/busybox-1.32.1",
  ]);
  assert.equal(p.binaries, 3);
});

test("a failed binary package (portage PR #1313) is named", () => {
  const p = parseEmergeOutput(fixture("portage-pr1313-failed.txt"));
  assert.deepEqual(p.failed, ["sys-libs/glibc-2.38-r10"]);
  assert.equal(p.done, 0);
});

test("line forms", () => {
  assert.deepEqual(
    parseEmergeLine(
      ">>> Emerging binary (1 of 13) app-arch/bzip2-1.0.6-r8::gentoo for /emerge-root/",
    ),
    {
      kind: "emerging",
      n: 1,
      of: 13,
      cpv: "app-arch/bzip2-1.0.6-r8",
      binary: true,
    },
  );
  assert.deepEqual(
    parseEmergeLine(">>> Jobs: 1 of 3 complete, 1 running, 1 failed   Load avg: 1.0"),
    {
      kind: "jobs",
      done: 1,
      of: 3,
      running: 1,
      failed: 1,
    },
  );
  assert.deepEqual(parseEmergeLine(">>> Failed to emerge dev-libs/foo-1.0, Log file:"), {
    kind: "failed",
    cpv: "dev-libs/foo-1.0",
  });
  assert.deepEqual(
    parseEmergeLine("Total: 1 package (1 new, 1 binary), Size of downloads: 0 KiB"),
    {
      kind: "total",
      packages: 1,
    },
  );
  assert.equal(parseEmergeLine(">>> Extracting info"), null);
  assert.equal(parseEmergeLine("checking for gcc... gcc"), null);
});

test("a Jobs line advances done even without per-package lines", () => {
  let p = initialProgress();
  p = foldEmerge(p, { kind: "jobs", done: 4, of: 10, running: 1, failed: 0 });
  assert.equal(p.done, 4);
  assert.equal(p.total, 10);
});

const reasons = (name: string) => emergeReasons(fixture(name).split("\n"));

test("why emerge stopped: a keyword-masked atom (real portage 3.0.82 output)", () => {
  assert.deepEqual(reasons("portage-3.0.82-keyword-masked.txt"), [
    '!!! All ebuilds that could satisfy "app-editors/neovim" have been masked.',
    "!!! One of the following masked packages is required to complete your request:",
    "- app-editors/neovim-0.10.4::gentoo (masked by: ~amd64 keyword)",
  ]);
});

test("why emerge stopped: a licence, a package.mask entry with its comment, no ebuild at all", () => {
  assert.deepEqual(reasons("portage-3.0.82-license-masked.txt").slice(2), [
    "- sys-kernel/linux-firmware-20250109::gentoo (masked by: linux-fw-redistributable license(s))",
    "A copy of the 'linux-fw-redistributable' license is located at '/var/db/repos/gentoo/licenses/linux-fw-redistributable'.",
  ]);
  assert.deepEqual(reasons("portage-3.0.82-package-mask.txt").slice(2), [
    "- app-misc/masked-2.0::gentoo (masked by: package.mask)",
    "/var/db/repos/gentoo/profiles/package.mask:",
    "# Example: broken upstream",
  ]);
  assert.deepEqual(reasons("portage-3.0.82-no-ebuilds.txt"), [
    'emerge: there are no ebuilds to satisfy "app-misc/nosuch".',
  ]);
});

test("why emerge stopped: elog-prefixed lines (a bad binpkg, a died ebuild phase)", () => {
  assert.deepEqual(reasons("portage-pr1313-failed.txt"), [
    "!!! Invalid binary package: '/var/cache/binpkgs/sys-devel/binutils/binutils-2.41-r5-4.gpkg.tar.partial', GPG verify failed",
  ]);
  // The shape of an ebuild's die() in the elog summary.
  const died = [
    " * ERROR: app-misc/broken-1.0::gentoo failed (compile phase):",
    " *   make failed: missing header foo.h",
    " * ",
    " * Call stack:",
    " *     ebuild.sh, line  136:  Called src_compile",
    " * ERROR: app-misc/broken-1.0::gentoo failed (compile phase):",
  ];
  assert.deepEqual(emergeReasons(died), [
    "ERROR: app-misc/broken-1.0::gentoo failed (compile phase):",
    "make failed: missing header foo.h",
  ]);
  assert.deepEqual(emergeReasons([">>> Emerging (1 of 1) a/b-1::gentoo", "checking for gcc"]), []);
});
