// The mirror router serving the real fixture mirror over loopback HTTP:
// verified files only, Range, path safety, and refusals of tampered data.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, symlink } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { AUTOBUILDS } from "../../../shared/verify/layout.ts";
import {
  cleanup,
  cloneFixture,
  listFiles,
  otherKey,
  pinnedToFixture,
  replaceFile,
  resign,
  serveFixture,
  startMirror,
  tempDir,
  type Fixture,
  type RunningMirror,
  type ServedFixture,
} from "./helpers.ts";

let fx: Fixture;
let work: string;
let mirror: RunningMirror;
let served: ServedFixture | undefined;
let cacheDir: string;

before(async () => {
  served = await serveFixture("router");
  ({ fx, work, mirror, cacheDir } = served);
});

after(() => served?.close());

const sha512 = (b: Buffer | Uint8Array) => createHash("sha512").update(b).digest("hex");

test("serves the clearsigned pointer and the public key", async () => {
  const r = await fetch(`${mirror.url}${AUTOBUILDS}/latest-stage3-amd64-openrc.txt`);
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.match(text, /^-----BEGIN PGP SIGNED MESSAGE-----/);
  assert.match(text, /^\d{8}T\d{6}Z\/stage3-amd64-openrc-\d{8}T\d{6}Z\.tar\.xz \d+$/m);
  const k = await fetch(`${mirror.url}keys/${fx.fingerprint}.asc`);
  assert.equal(k.status, 200);
  assert.match(await k.text(), /BEGIN PGP PUBLIC KEY BLOCK/);
  assert.equal((await fetch(`${mirror.url}keys/${"0".repeat(40)}.asc`)).status, 404);
});

test("serves the stage3 byte-identical, with Range and HEAD", async () => {
  const original = await readFile(join(fx.dir, fx.openrcRel));
  const full = Buffer.from(await (await fetch(mirror.url + fx.openrcRel)).arrayBuffer());
  assert.equal(sha512(full), sha512(original));

  const part = await fetch(mirror.url + fx.openrcRel, { headers: { range: "bytes=1000-1999" } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), `bytes 1000-1999/${original.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), original.subarray(1000, 2000));

  const tail = await fetch(mirror.url + fx.openrcRel, {
    headers: { range: `bytes=${original.length - 10}-` },
  });
  assert.equal(tail.status, 206);
  assert.deepEqual(Buffer.from(await tail.arrayBuffer()), original.subarray(original.length - 10));

  const bad = await fetch(mirror.url + fx.openrcRel, {
    headers: { range: `bytes=${original.length + 5}-` },
  });
  assert.equal(bad.status, 416);
  await bad.body?.cancel();

  const head = await fetch(mirror.url + fx.openrcRel, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(original.length));
  assert.equal(head.headers.get("accept-ranges"), "bytes");

  for (const ext of [".asc", ".DIGESTS"]) {
    const r = await fetch(mirror.url + fx.openrcRel + ext);
    assert.equal(r.status, 200, ext);
    assert.equal(await r.text(), await readFile(join(fx.dir, fx.openrcRel + ext), "utf8"));
  }
});

test("serves the snapshot and its signature", async () => {
  const r = await fetch(`${mirror.url}snapshots/gentoo-latest.tar.xz`);
  assert.equal(r.status, 200);
  assert.equal(
    sha512(Buffer.from(await r.arrayBuffer())),
    sha512(await readFile(join(fx.dir, "snapshots/gentoo-latest.tar.xz"))),
  );
  assert.equal((await fetch(`${mirror.url}snapshots/gentoo-latest.tar.xz.gpgsig`)).status, 200);
});

/** GET with the path sent exactly as written (fetch() would normalise "../" and "%2e%2e"). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  const u = new URL(mirror.url);
  return new Promise((ok, fail) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname + path, method: "GET" },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", fail);
    req.end();
  });
}

test("traversal, encoded traversal and unknown paths never reach the disk", async () => {
  const evil = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "releases/amd64/autobuilds/../../../../../etc/passwd",
    "releases/amd64/autobuilds/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "releases/amd64/autobuilds/..%5c..%5cetc",
    "keys/..%2f..%2fTEST-KEY-FPR",
    "releases/amd64/autobuilds/latest-stage3-amd64-openrc.txt%00",
  ];
  for (const p of evil) {
    const r = await rawGet(p);
    // 400 from the router, or 404 when express itself resolved the dots above /mirror
    assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /root:|BEGIN PGP|[0-9A-F]{40}/, p);
  }
  assert.equal((await rawGet("releases/amd64/autobuilds/%2e%2e/%2e%2e/etc/passwd")).status, 400);
  assert.equal((await rawGet("..%2f..%2fetc%2fpasswd")).status, 400);
  for (const p of ["TEST-KEY-FPR", "BUILD-INFO.json", ".input-hash", "etc/passwd", ".staging/x"]) {
    const r = await rawGet(p);
    assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /[0-9A-F]{40}|inputHash/, p);
  }
});

test("a symlink in the upstream that leads outside it is refused", async () => {
  const up = await cloneFixture(fx, join(work, "up-symlink"));
  await symlink("/etc/passwd", join(up, AUTOBUILDS, "latest-stage3-amd64-evil.txt"));
  const m = await startMirror(pinnedToFixture(fx, up, join(work, "cache-symlink")));
  try {
    const r = await fetch(`${m.url}${AUTOBUILDS}/latest-stage3-amd64-evil.txt`);
    assert.equal(r.status, 403);
    assert.doesNotMatch(await r.text(), /root:/);
  } finally {
    await m.close();
  }
});

/** Starts a mirror over a tampered clone; returns the status for the tarball and what the cache holds afterwards. */
async function serveTampered(
  name: string,
  tamper: (up: string) => Promise<void>,
): Promise<{ status: number; body: string; cached: string[]; again: number }> {
  const up = await cloneFixture(fx, join(work, `up-${name}`));
  await tamper(up);
  const cache = join(work, `cache-${name}`);
  const m = await startMirror(pinnedToFixture(fx, up, cache));
  try {
    const r = await fetch(m.url + fx.openrcRel);
    const body = await r.text();
    const again = await fetch(m.url + fx.openrcRel, { headers: { range: "bytes=0-9" } });
    await again.body?.cancel();
    return { status: r.status, body, cached: await listFiles(cache), again: again.status };
  } finally {
    await m.close();
  }
}

test("a tampered tarball is refused (BADSIG) and never enters the cache", async () => {
  const r = await serveTampered("flip", (up) =>
    replaceFile(up, fx.openrcRel, (b) => {
      b[b.length >> 1] = (b[b.length >> 1] ?? 0) ^ 0xff;
      return b;
    }),
  );
  assert.equal(r.status, 502);
  assert.match(r.body, /failed verification.*BADSIG/);
  assert.equal(r.again, 502, "a second (Range) request is refused too");
  assert.deepEqual(
    r.cached.filter((f) => !f.startsWith(".staging")),
    [],
  );
});

test("a tarball re-signed with the right key but not matching the signed DIGESTS is refused (SHA512)", async () => {
  const r = await serveTampered("digest", async (up) => {
    await replaceFile(up, fx.openrcRel, (b) => Buffer.concat([b, Buffer.from("extra")]));
    await resign(fx.secretHome, up, fx.openrcRel);
  });
  assert.equal(r.status, 502);
  assert.match(r.body, /SHA512 mismatch/);
  assert.deepEqual(r.cached, []);
});

test("a signature by a key that is not pinned is refused", async () => {
  const attacker = await otherKey(await tempDir("attacker"));
  try {
    const r = await serveTampered("wrongkey", async (up) => {
      await resign(attacker, up, fx.openrcRel);
    });
    assert.equal(r.status, 502);
    assert.match(r.body, /ERRSIG|not pinned/);
    assert.deepEqual(r.cached, []);
  } finally {
    await cleanup(attacker);
  }
});

test("after all that, the honest mirror's cache holds only verified files", async () => {
  const files = await listFiles(cacheDir);
  assert.ok(files.includes(fx.openrcRel), files.join(", "));
  assert.ok(!files.some((f) => f.startsWith(".staging/")), files.join(", "));
});

test("a refresh that fails verification keeps serving the last verified pointer", async () => {
  const up = await cloneFixture(fx, join(work, "up-refresh"));
  const rel = `${AUTOBUILDS}/latest-stage3-amd64-openrc.txt`;
  const m = await startMirror({
    ...pinnedToFixture(fx, up, join(work, "cache-refresh")),
    refreshSeconds: 0, // every request re-fetches
  });
  try {
    const first = await (await fetch(m.url + rel)).text();
    // the upstream now serves a pointer whose signed text was altered
    await replaceFile(up, rel, (b) =>
      Buffer.from(b.toString().replace(/\.tar\.xz (\d+)/, ".tar.xz 1$1")),
    );
    const again = await fetch(m.url + rel);
    assert.equal(again.status, 200);
    assert.equal(await again.text(), first);
    assert.equal(await readFile(join(work, "cache-refresh", rel), "utf8"), first);
  } finally {
    await m.close();
  }
});

test("concurrent requests for a cold stage3 share one verified fetch", async () => {
  const m = await startMirror(pinnedToFixture(fx, fx.dir, join(work, "cache-concurrent")));
  try {
    const rs = await Promise.all(
      [fx.openrcRel, `${fx.openrcRel}.asc`, `${fx.openrcRel}.DIGESTS`, fx.openrcRel].map((r) =>
        fetch(m.url + r, { method: "HEAD" }),
      ),
    );
    assert.deepEqual(
      rs.map((r) => r.status),
      [200, 200, 200, 200],
    );
    assert.deepEqual(
      (await listFiles(join(work, "cache-concurrent"))).filter((f) => f.startsWith(".staging/")),
      [],
    );
  } finally {
    await m.close();
  }
});
