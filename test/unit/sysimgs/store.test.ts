// The system image store on real filesystems: uploads bounded by
// sysimgs.maxBytes and by the free space of a small tmpfs (a real full disk,
// not a fake), a commit that is durable (fsync'ed, JSON written atomically:
// checked with strace) and leaves nothing when the disk fills under it, a
// listing that skips a torn JSON and names it, stale staging removed at start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { execa } from "execa";
import { silentLog } from "../../../server/log.ts";
import { SysImageStore, UploadRefused } from "../../../server/sysimgs/store.ts";
import { mountTmpfs } from "../../lib/tmpfs.ts";
import { sha256 as sha } from "../../../shared/hash.ts";

const MiB = 1 << 20;
/** `n` bytes in 64 KiB chunks, as a socket delivers them. */
const chunks = (n: number, fill = 7) =>
  Readable.from(
    (function* () {
      for (let left = n; left > 0; left -= 64 * 1024)
        yield Buffer.alloc(Math.min(left, 64 * 1024), fill);
    })(),
  );

/** assert.rejects' check: an UploadRefused for `reason` whose message matches `re`. */
const refused = (reason: "too-large" | "no-space", re: RegExp) => (err: Error) =>
  err instanceof UploadRefused && err.reason === reason && re.test(err.message);

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "am-sysimg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function recordingLog() {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const warn = (obj: object, msg?: string) =>
    lines.push({ obj: obj as Record<string, unknown>, msg: msg ?? "" });
  return { ...silentLog, lines, warn };
}

test("an upload over sysimgs.maxBytes is refused naming the limit, up front or as it arrives; nothing kept", async (t) => {
  const dir = join(tempDir(t), "sysimgs");
  const store = await new SysImageStore(dir, undefined, {
    limits: { maxBytes: 2 * MiB, keepFreeBytes: 0 },
  }).open();
  // Content-Length given: refused before a byte is read.
  const body = chunks(3 * MiB);
  await assert.rejects(
    store.receive("ws1", 1, body, 3 * MiB),
    refused("too-large", /3145728 bytes is more than sysimgs\.maxBytes \(2097152 bytes\)/),
  );
  assert.equal(body.readableFlowing, null, "the body was never read");
  // No length: refused once the bytes pass the limit.
  await assert.rejects(
    store.receive("ws1", 1, chunks(3 * MiB)),
    refused("too-large", /sysimgs\.maxBytes \(2097152 bytes\)/),
  );
  assert.deepEqual(await readdir(dir), [], "no staging file left");
  assert.deepEqual(await store.list(), []);
  // At the limit is fine.
  const ok = await store.receive("ws1", 2, chunks(2 * MiB));
  assert.equal(ok.bytes, 2 * MiB);
});

test("an upload the state disk has no room for: refused up front (507 material), or when the disk fills; nothing kept", async (t) => {
  const disk = await mountTmpfs("8m");
  t.after(() => disk.close());
  const dir = join(disk.dir, "sysimgs");
  const store = await new SysImageStore(dir, undefined, {
    limits: { maxBytes: 64 * MiB, keepFreeBytes: 512 * 1024 },
  }).open();
  const body = chunks(10 * MiB);
  await assert.rejects(
    store.receive("ws1", 1, body, 10 * MiB),
    refused("no-space", /the state disk \(.*\) is too full: 10485760 bytes do not fit/),
  );
  assert.equal(body.readableFlowing, null, "refused before reading");
  // No length: written until the free space (less keepFree) is used, then refused.
  await assert.rejects(
    store.receive("ws1", 1, chunks(10 * MiB)),
    refused("no-space", /filled up after \d+ bytes/),
  );
  assert.deepEqual(await readdir(dir), [], "no staging file left");
  // The space is back: a fitting upload goes through and commits.
  const fits = await store.receive("ws1", 2, chunks(4 * MiB));
  const image = await store.commit(2, fits.sha256);
  assert.deepEqual(
    (await store.list()).map((i) => i.name),
    [image.name],
  );
});

test("commit on a disk that fills up leaves neither archive nor a torn JSON; the listing stays whole", async (t) => {
  const disk = await mountTmpfs("8m");
  t.after(() => disk.close());
  const dir = join(disk.dir, "sysimgs");
  const store = await new SysImageStore(dir).open();
  const body = Buffer.alloc(2 * MiB, 3);
  const got = await store.receive("ws1", 1, Readable.from([body]));
  // Something else takes the rest of the disk between upload and commit.
  await execa("sh", ["-c", `cat /dev/zero > ${join(disk.dir, "filler")}`], { reject: false });
  await assert.rejects(
    store.commit(1, sha(body), { device: "/dev/vda2" }),
    refused("no-space", /commit failed, upload dropped: .*ENOSPC/),
  );
  assert.deepEqual(await readdir(dir), [], "no archive, no JSON, no temp file");
  assert.deepEqual(await store.list(), []);
  assert.equal(got.bytes, body.length);
});

test("commit fsyncs the archive before its rename and the JSON (temp file, fsync, rename), then the folder", async (t) => {
  const dir = tempDir(t);
  const script = `
    import { Readable } from "node:stream";
    import { SysImageStore } from ${JSON.stringify(resolve("server/sysimgs/store.ts"))};
    const store = await new SysImageStore(process.argv[1]).open();
    const got = await store.receive("ws1", 1, Readable.from([Buffer.alloc(4096, 1)]));
    process.stdout.write("COMMIT\\n");
    await store.commit(1, got.sha256);
    process.stdout.write("DONE\\n");
  `;
  const trace = join(dir, "strace.log");
  const images = join(dir, "sysimgs");
  await execa("strace", [
    "-f",
    "-y",
    "-e",
    "trace=fsync,fdatasync,rename,renameat,renameat2,write",
    "-o",
    trace,
    process.execPath,
    "--import",
    "tsx",
    "--input-type=module",
    "-e",
    script,
    images,
  ]);
  // Only the calls from the commit on, on files in the store's folder.
  const calls = readFileSync(trace, "utf8")
    .split("\n")
    .filter((l) => l.includes(images) || /write\(1/.test(l))
    .map((l) => l.replace(/^\d+\s+/, ""));
  const from = calls.findIndex((l) => l.includes("COMMIT"));
  const upto = calls.findIndex((l) => l.includes("DONE"));
  assert.ok(from >= 0 && upto > from, calls.join("\n"));
  const commit = calls.slice(from + 1, upto).filter((l) => !l.startsWith("write("));
  const at = (re: RegExp) => {
    const i = commit.findIndex((l) => re.test(l));
    assert.ok(i >= 0, `no ${re} in:\n${commit.join("\n")}`);
    return i;
  };
  const syncArchive = at(/^f(data)?sync\(\d+<[^>]*\.tar\.zst\.partial>/);
  const renameArchive = at(/^rename(at2?)?\(.*\.tar\.zst\.partial".*\.tar\.zst"/);
  const syncJson = at(/^f(data)?sync\(\d+<[^>]*\/\.ws1-\w+\.json\.[0-9a-f]{8}\.tmp>/);
  const renameJson = at(/^rename(at2?)?\(.*\.json\.[0-9a-f]{8}\.tmp".*\.json"/);
  const syncDir = at(new RegExp(`^f(data)?sync\\(\\d+<${images}>`));
  assert.ok(syncArchive < renameArchive, commit.join("\n"));
  assert.ok(renameArchive < syncJson && syncJson < renameJson, commit.join("\n"));
  assert.ok(renameJson < syncDir, commit.join("\n"));
  const json = readdirSync(images).filter((f) => f.endsWith(".json"));
  assert.equal(json.length, 1);
});

test("the listing skips a torn or foreign JSON and logs it by file name; good images are still listed", async (t) => {
  const dir = join(tempDir(t), "sysimgs");
  const log = recordingLog();
  const store = await new SysImageStore(dir, undefined, { log }).open();
  const body = Buffer.alloc(1000, 9);
  await store.receive("ws1", 1, Readable.from([body]));
  const good = await store.commit(1, sha(body));
  await writeFile(join(dir, "ws1-torn.tar.zst"), "x");
  await writeFile(join(dir, "ws1-torn.json"), '{"name": "ws1-torn", "host": "w');
  await writeFile(join(dir, "ws1-odd.tar.zst"), "x");
  await writeFile(join(dir, "ws1-odd.json"), '{"name": "ws1-odd"}');
  assert.deepEqual(
    (await store.list()).map((i) => i.name),
    [good.name],
  );
  const warned = log.lines.map((l) => l.obj.file).sort();
  assert.deepEqual(warned, [join(dir, "ws1-odd.json"), join(dir, "ws1-torn.json")]);
  assert.match(log.lines[0]!.msg, /metadata unreadable, image not listed/);
  // Asked for by name (a deploy), the broken one still names its file.
  await assert.rejects(store.find("ws1-torn"), /ws1-torn\.json: /);
});

test("open() removes what an interrupted upload or commit left: staging, temp JSON, an archive or JSON alone", async (t) => {
  const dir = join(tempDir(t), "sysimgs");
  await mkdir(dir, { recursive: true });
  const keep = ["ws1-20260101T000000Z.tar.zst", "ws1-20260101T000000Z.json"];
  const stale = [
    "ws1-20260102T000000Z.tar.zst.partial",
    ".ws1-20260103T000000Z.json.0a1b2c3d.tmp",
    "ws1-20260104T000000Z.tar.zst",
    "ws1-20260105T000000Z.json",
  ];
  for (const f of [...keep, ...stale]) await writeFile(join(dir, f), "x");
  const log = recordingLog();
  await new SysImageStore(dir, undefined, { log }).open();
  assert.deepEqual((await readdir(dir)).sort(), keep.sort());
  assert.deepEqual(log.lines.map((l) => l.obj.file).sort(), stale.map((f) => join(dir, f)).sort());
});
