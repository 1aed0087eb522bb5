// The cpio writer must produce exactly what GNU cpio writes for the same
// files (`cpio -o -H newc --reproducible`), byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, writeFile, symlink, link, utimes, rm, lutimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { execa } from "execa";
import { walkTree } from "../../../image-builder/cpio/tree.ts";
import { orderHardLinks, renumberInodes } from "../../../image-builder/cpio/records.ts";
import { writeCpio } from "../../../image-builder/cpio/write.ts";
import { requireTool } from "../../lib/tools.ts";

async function fixtureTree(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "automagic-cpio-"));
  await mkdir(join(root, "etc/ssh"), { recursive: true });
  await mkdir(join(root, "empty-dir"));
  for (const [name, size] of [
    ["etc/zero", 0],
    ["etc/one", 1],
    ["etc/three", 3],
    ["etc/four", 4],
    ["etc/five", 5],
    ["etc/ssh/big", 70_001],
  ] as const) {
    await writeFile(join(root, name), Buffer.alloc(size, 0x61 + (size % 26)));
  }
  await writeFile(join(root, "linked-a"), "same inode\n");
  await link(join(root, "linked-a"), join(root, "etc/linked-b"));
  await link(join(root, "linked-a"), join(root, "linked-c"));
  await symlink("../etc/one", join(root, "empty-dir/to-one"));
  await symlink("dangling/target/far/away", join(root, "dangling"));
  const long = "n".repeat(120) + "-é-ünïcode";
  await writeFile(join(root, long), "long name\n");
  const when = new Date("2026-01-02T03:04:05Z");
  const all = [
    "etc/zero",
    "etc/one",
    "etc/three",
    "etc/four",
    "etc/five",
    "etc/ssh/big",
    "linked-a",
    long,
  ];
  for (const f of all) await utimes(join(root, f), when, when);
  for (const l of ["empty-dir/to-one", "dangling"]) await lutimes(join(root, l), when, when);
  for (const d of ["etc/ssh", "etc", "empty-dir", "."]) await utimes(join(root, d), when, when);
  return root;
}

async function ours(root: string): Promise<{ bytes: Buffer; names: string[] }> {
  const records = orderHardLinks(renumberInodes(await walkTree(root)));
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (c: Buffer) => chunks.push(c));
  await writeCpio(records, sink, { blockSize: 512 });
  sink.end();
  return { bytes: Buffer.concat(chunks), names: (await walkTree(root)).map((r) => r.name) };
}

test("cpio newc writer matches GNU cpio --reproducible byte for byte", async () => {
  requireTool("cpio");
  const root = await fixtureTree();
  try {
    const mine = await ours(root);
    const gnu = await execa("cpio", ["-o", "-H", "newc", "--reproducible", "--quiet"], {
      cwd: root,
      input: mine.names.join("\n") + "\n",
      encoding: "buffer",
    });
    const theirs = Buffer.from(gnu.stdout);
    assert.equal(mine.bytes.length, theirs.length, "archive length");
    const at = mine.bytes.findIndex((b, i) => b !== theirs[i]);
    assert.equal(
      at,
      -1,
      `first difference at byte ${at}: ours ${JSON.stringify(mine.bytes.subarray(at - 40, at + 40).toString("latin1"))} gnu ${JSON.stringify(theirs.subarray(at - 40, at + 40).toString("latin1"))}`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("GNU cpio extracts our archive to the same tree", async () => {
  requireTool("cpio");
  const root = await fixtureTree();
  const out = await mkdtemp(join(tmpdir(), "automagic-cpio-x-"));
  try {
    const mine = await ours(root);
    await execa("cpio", ["-idm", "--quiet", "--no-absolute-filenames"], {
      cwd: out,
      input: mine.bytes,
    });
    const diff = await execa("diff", ["-r", "--no-dereference", root, out], { reject: false });
    assert.equal(diff.exitCode, 0, diff.stdout + diff.stderr);
    const { stdout } = await execa("stat", [
      "-c",
      "%i",
      join(out, "linked-a"),
      join(out, "etc/linked-b"),
    ]);
    const [a, b] = stdout.split("\n");
    assert.equal(a, b, "hard links stay one inode");
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
});
