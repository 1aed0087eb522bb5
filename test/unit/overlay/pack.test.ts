import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { packOverlay, scanOverlay, symlinkDestination } from "../../../server/overlay/pack.ts";
import { readTar } from "../../../payload/phase2/overlay-read.ts";

function tree(build: (dir: string) => void): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "overlay-"));
  build(dir);
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function file(dir: string, rel: string, content: string, mode = 0o644) {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), content);
  chmodSync(path.join(dir, rel), mode);
}

test("packs files, dirs and symlinks with modes and owners by name", async () => {
  using t = tree((d) => {
    file(d, "etc/motd", "hello\n");
    file(d, "usr/local/bin/hello", "#!/bin/sh\necho hi\n", 0o755);
    file(d, "etc/nginx/certs/key.pem", "KEY", 0o600);
    file(d, "usr/share/zoneinfo/UTC", "TZif");
    symlinkSync("../usr/share/zoneinfo/UTC", path.join(d, "etc/localtime"));
    chmodSync(path.join(d, "etc/nginx/certs"), 0o750);
  });
  const stream = packOverlay(t.dir, {
    attrs: {
      "etc/nginx/certs/key.pem": { user: "nginx", group: "nginx" },
      "etc/nginx/certs": { group: "nginx" },
    },
    mtime: new Date(0),
  });
  const entries = await readTar(stream);
  const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ""), e]));
  assert.deepEqual(
    entries.map((e) => e.name),
    [
      "etc/",
      "etc/localtime",
      "etc/motd",
      "etc/nginx/",
      "etc/nginx/certs/",
      "etc/nginx/certs/key.pem",
      "usr/",
      "usr/local/",
      "usr/local/bin/",
      "usr/local/bin/hello",
      "usr/share/",
      "usr/share/zoneinfo/",
      "usr/share/zoneinfo/UTC",
    ],
  );
  const key = byName.get("etc/nginx/certs/key.pem")!;
  assert.equal(key.mode, 0o600);
  assert.equal(key.uname, "nginx");
  assert.equal(key.gname, "nginx");
  assert.equal(key.data.toString(), "KEY");
  const certs = byName.get("etc/nginx/certs")!;
  assert.equal(certs.type, "directory");
  assert.equal(certs.mode, 0o750);
  assert.equal(certs.uname, "root");
  assert.equal(certs.gname, "nginx");
  assert.equal(byName.get("usr/local/bin/hello")!.mode, 0o755);
  const lt = byName.get("etc/localtime")!;
  assert.equal(lt.type, "symlink");
  assert.equal(lt.linkname, "../usr/share/zoneinfo/UTC");
});

test("the stream is a real tar: GNU tar lists it with owners", async () => {
  using t = tree((d) => file(d, "etc/issue", "x\n", 0o640));
  const chunks: Buffer[] = [];
  for await (const c of packOverlay(t.dir, {
    attrs: { "etc/issue": { group: "adm" } },
  }) as AsyncIterable<Buffer>) {
    chunks.push(c);
  }
  const listing = execFileSync("tar", ["-tvf", "-"], {
    input: Buffer.concat(chunks),
    encoding: "utf8",
  });
  assert.match(listing, /-rw-r----- root\/adm\s+2 .* etc\/issue/);
});

test("identical trees give identical bytes (fixed mtime)", async () => {
  using t = tree((d) => file(d, "etc/a", "a"));
  const read = async () => {
    const chunks: Buffer[] = [];
    for await (const c of packOverlay(t.dir, { mtime: new Date(0) }) as AsyncIterable<Buffer>)
      chunks.push(c);
    return Buffer.concat(chunks);
  };
  assert.ok((await read()).equals(await read()));
});

test("refuses a symlink pointing out of the tree", async () => {
  using t = tree((d) => {
    file(d, "etc/a", "a");
    symlinkSync("../../../../etc/shadow", path.join(d, "etc/evil"));
  });
  await assert.rejects(
    scanOverlay(t.dir),
    /etc\/evil: symlink to \.\.\/\.\.\/\.\.\/\.\.\/etc\/shadow points out of the tree/,
  );
  await assert.rejects(readTar(packOverlay(t.dir)), /points out of the tree/);
});

test("refuses an absolute symlink and one into /home", async () => {
  using abs = tree((d) => {
    mkdirSync(path.join(d, "etc"));
    symlinkSync("/etc/passwd", path.join(d, "etc/p"));
  });
  await assert.rejects(scanOverlay(abs.dir), /symlink to \/etc\/passwd points out of the tree/);
  using home = tree((d) => {
    mkdirSync(path.join(d, "etc"));
    symlinkSync("../home/alice", path.join(d, "etc/h"));
  });
  await assert.rejects(scanOverlay(home.dir), /points into \/home\/alice/);
});

test("refuses files under /home, /proc and friends", async () => {
  using t = tree((d) => file(d, "home/alice/.bashrc", "x"));
  await assert.rejects(scanOverlay(t.dir), /\/home is never written by the overlay/);
});

test("refuses special files and attrs that escape or name nothing", async () => {
  using fifo = tree((d) => {
    mkdirSync(path.join(d, "etc"));
    execFileSync("mkfifo", [path.join(d, "etc/pipe")]);
  });
  await assert.rejects(
    scanOverlay(fifo.dir),
    /etc\/pipe: not a regular file, directory or symlink/,
  );
  using t = tree((d) => file(d, "etc/a", "a"));
  await assert.rejects(
    scanOverlay(t.dir, { attrs: { "../x": { user: "a" } } }),
    /escapes the tree/,
  );
  await assert.rejects(
    scanOverlay(t.dir, { attrs: { "etc/b": { user: "a" } } }),
    /etc\/b: no such file/,
  );
});

test("symlinkDestination", () => {
  assert.equal(
    symlinkDestination("etc/localtime", "../usr/share/zoneinfo/UTC"),
    "usr/share/zoneinfo/UTC",
  );
  assert.equal(symlinkDestination("etc/x", "y"), "etc/y");
  assert.equal(symlinkDestination("etc/x", ".."), "");
  assert.equal(symlinkDestination("etc/x", "../.."), null);
  assert.equal(symlinkDestination("x", "/abs"), null);
});

test("refuses a tree that is itself a symlink, naming it and its target", async () => {
  using outside = tree((d) => file(d, "id_ed25519", "PRIVATE KEY"));
  using t = tree(() => {});
  const link = path.join(t.dir, "files");
  symlinkSync(outside.dir, link);
  await assert.rejects(
    scanOverlay(link),
    new RegExp(
      `overlay: ${link}: a symlink \\(to ${outside.dir}\\); the tree must be a real folder`,
    ),
  );
  await assert.rejects(readTar(packOverlay(link)), /a symlink/);
});

test("a symlink to a folder inside the tree is packed as a link, never walked", async () => {
  using t = tree((d) => {
    file(d, "usr/lib/x", "x");
    symlinkSync("usr/lib", path.join(d, "lib"));
  });
  const entries = await scanOverlay(t.dir);
  assert.deepEqual(
    entries.map((e) => [e.name, e.type]),
    [
      ["lib", "symlink"],
      ["usr", "directory"],
      ["usr/lib", "directory"],
      ["usr/lib/x", "file"],
    ],
  );
});
