// What an unauthenticated client can make the mirror do (issue #14): fetch
// only what the current host files use unless it holds a valid run token,
// keep the cache under its size limit (least recently served unused units go
// first, binhost packages count too), and remove a crashed process's
// staging at start. Upstream is a counting HTTP server over the fixture.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { MirrorCache } from "../../../server/mirror/cache.ts";
import { parseMirrorConfig } from "../../../server/mirror/config.ts";
import { silentLog } from "../../../server/log.ts";
import type { MirrorGate } from "../../../server/mirror/gate.ts";
import { mirrorAuth } from "../../../payload/steps/fetch.ts";
import { fetchStage3, HttpError } from "../../../shared/verify/index.ts";
import { AUTOBUILDS } from "../../../shared/verify/layout.ts";
import {
  cleanup,
  countingUpstream,
  ensureFixture,
  listFiles,
  pinnedToFixture,
  startMirror,
  tempDir,
  type CountingUpstream,
  type Fixture,
} from "./helpers.ts";

const TOKEN = "r".repeat(32);
const OPENRC_POINTER = `${AUTOBUILDS}/latest-stage3-amd64-openrc.txt`;
const BIN = "releases/amd64/binpackages/23.0/x86-64";
const GiB = 1 << 30;

let fx: Fixture;
let work: string;
let up: CountingUpstream;
let systemdRel: string;

before(async () => {
  fx = await ensureFixture();
  work = await tempDir("cost");
  up = await countingUpstream(fx.dir);
  systemdRel = fx.openrcRel.replace(/openrc/g, "systemd");
});

after(async () => {
  await up?.close();
  await cleanup(work);
});

/** A gate whose host files use `variants` (changeable by the test) and whose only valid token is TOKEN. */
function hostsUsing(
  variants: string[],
  binhosts: string[] = [],
): MirrorGate & { use(v: string[]): void } {
  let d = { variants: new Set(variants), binhosts: new Set(binhosts) };
  return {
    demand: () => d,
    authorize: (t) => t === TOKEN,
    use: (v) => (d = { variants: new Set(v), binhosts: d.binhosts }),
  };
}

function memoryLog() {
  const lines: string[] = [];
  const rec = (obj: object, msg?: string) => lines.push(`${msg ?? ""} ${JSON.stringify(obj)}`);
  return { lines, log: { ...silentLog, info: rec, warn: rec } };
}

const get = async (url: string, token?: string) => {
  const r = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
};
const sha512 = (b: Buffer) => createHash("sha512").update(b).digest("hex");

async function cachedBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await listFiles(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

test("a variant no host file uses is refused without a valid token, and nothing is fetched upstream", async () => {
  const m = await startMirror(pinnedToFixture(fx, up.url, join(work, "cache-gate")), {
    gate: hostsUsing(["systemd"]),
  });
  try {
    const before = up.total();
    for (const rel of [OPENRC_POINTER, fx.openrcRel, `${fx.openrcRel}.asc`]) {
      for (const token of [undefined, "w".repeat(32)]) {
        const r = await get(m.url + rel, token);
        assert.equal(r.status, 404, `${rel} token=${token}`);
        assert.match(
          r.body.toString(),
          /stage3 variant "openrc": no host file uses it; a valid run token \(Authorization: Bearer\) allows fetching it/,
        );
      }
    }
    const bin = await get(`${m.url}${BIN}/Packages`);
    assert.equal(bin.status, 404);
    assert.match(bin.body.toString(), /binhost 23\.0\/x86-64: no host file uses it/);
    assert.equal(up.total() - before, 0, `upstream requests: ${[...up.hits.keys()].join(", ")}`);
  } finally {
    await m.close();
  }
});

test("with a valid run token the unused variant is fetched and verified; afterwards anyone gets the cached copy", async () => {
  const m = await startMirror(pinnedToFixture(fx, up.url, join(work, "cache-token")), {
    gate: hostsUsing(["systemd"]),
  });
  try {
    const r = await get(m.url + fx.openrcRel, TOKEN);
    assert.equal(r.status, 200);
    assert.equal(sha512(r.body), sha512(await readFile(join(fx.dir, fx.openrcRel))));
    const hits = up.hits.get(fx.openrcRel);
    assert.ok(hits && hits >= 1, "fetched upstream");
    const again = await get(m.url + fx.openrcRel);
    assert.equal(again.status, 200, "cached and verified: served without a token");
    assert.equal(up.hits.get(fx.openrcRel), hits, "no second upstream fetch");
  } finally {
    await m.close();
  }
});

test("the payload's fetchStage3 gets a variant no host file uses only with its run token", async () => {
  const m = await startMirror(pinnedToFixture(fx, up.url, join(work, "cache-payload")), {
    gate: hostsUsing(["systemd"]),
  });
  const server = m.url.replace(/\/mirror\/$/, "");
  const opts = (name: string, token?: string) => {
    const headers = mirrorAuth(m.url, server, token);
    return {
      mirror: m.url,
      trustedKeys: [fx.fingerprint],
      destDir: join(work, name),
      download: { retries: 0, ...(headers ? { headers } : {}) },
    };
  };
  try {
    await assert.rejects(
      fetchStage3("openrc", opts("dl-none")),
      (e: unknown) => e instanceof HttpError && e.status === 404,
    );
    const v = await fetchStage3("openrc", opts("dl-token", TOKEN));
    assert.equal(v.sha512, sha512(await readFile(join(fx.dir, fx.openrcRel))));
  } finally {
    await m.close();
  }
});

test("a cache over its limit evicts the least recently served unit no host file uses, and stays under the limit", async () => {
  const cacheDir = join(work, "cache-evict");
  const limit = 0.1 * GiB; // one fixture stage3 (~60 MB) fits, two do not
  const hosts = hostsUsing(["openrc"]);
  const { lines, log } = memoryLog();
  const m = await startMirror(
    { ...pinnedToFixture(fx, up.url, cacheDir), maxCacheGiB: 0.1 },
    { gate: hosts, log },
  );
  try {
    assert.equal((await get(m.url + OPENRC_POINTER)).status, 200);
    assert.equal((await get(m.url + fx.openrcRel)).status, 200);
    hosts.use(["systemd"]); // the host files changed: openrc is no longer used
    const r = await get(m.url + systemdRel);
    assert.equal(r.status, 200, r.body.subarray(0, 300).toString());
    const files = await listFiles(cacheDir);
    assert.ok(files.includes(systemdRel), files.join(", "));
    assert.ok(!files.includes(fx.openrcRel), `openrc evicted: ${files.join(", ")}`);
    assert.ok(!files.includes(`${fx.openrcRel}.asc`), files.join(", "));
    assert.ok((await cachedBytes(cacheDir)) <= limit);
    assert.ok(
      lines.some((l) => /evicted/.test(l) && l.includes(fx.openrcRel)),
      lines.join("\n"),
    );
  } finally {
    await m.close();
  }
});

test("a unit that cannot fit beside what the host files use is refused with the numbers and not kept", async () => {
  const cacheDir = join(work, "cache-full");
  const m = await startMirror(
    { ...pinnedToFixture(fx, up.url, cacheDir), maxCacheGiB: 0.1 },
    { gate: hostsUsing(["openrc", "systemd"]) },
  );
  try {
    assert.equal((await get(m.url + OPENRC_POINTER)).status, 200);
    await m.cache.idle(); // the pointer warms its stage3
    const r = await get(m.url + systemdRel);
    assert.equal(r.status, 507);
    assert.match(
      r.body.toString(),
      /does not fit under the cache limit of 102\.4 MiB: .* cached, .* of it in use by host files or being served/,
    );
    const files = await listFiles(cacheDir);
    assert.ok(files.includes(fx.openrcRel), "in use: kept");
    assert.ok(!files.some((f) => f.includes("systemd-2")), files.join(", "));
    assert.ok(!files.some((f) => f.startsWith(".staging/")), files.join(", "));
  } finally {
    await m.close();
  }
});

/** One Packages block with SIZE and SHA512, shaped like Portage writes them. */
const entry = (path: string, b: Buffer) =>
  `CPV: ${path.split("/")[0]}/${path.split("/")[2]!.replace(/-\d+\.gpkg\.tar$/, "")}\nPATH: ${path}\nSHA512: ${sha512(b)}\nSIZE: ${b.length}\n`;

test("binhost packages count toward the limit: the least recently served one makes room", async () => {
  const root = join(work, "binhost-up");
  const pkgs = ["a/one/one-1-1.gpkg.tar", "a/two/two-1-1.gpkg.tar", "a/three/three-1-1.gpkg.tar"];
  const blobs = pkgs.map(() => randomBytes(2 << 20));
  await mkdir(join(root, BIN), { recursive: true });
  for (const [i, p] of pkgs.entries()) {
    await mkdir(dirname(join(root, BIN, p)), { recursive: true });
    await writeFile(join(root, BIN, p), blobs[i]!);
  }
  await writeFile(
    join(root, BIN, "Packages"),
    ["ARCH: amd64\nVERSION: 0\n", ...pkgs.map((p, i) => entry(p, blobs[i]!))].join("\n"),
  );
  const bup = await countingUpstream(root);
  const cacheDir = join(work, "cache-binhost");
  // 5 MiB: the index and two 2 MiB packages fit, three do not.
  const m = await startMirror(
    { ...pinnedToFixture(fx, bup.url, cacheDir), maxCacheGiB: 5 / 1024 },
    { gate: hostsUsing([], ["23.0/x86-64"]) },
  );
  try {
    for (const p of pkgs) assert.equal((await get(`${m.url}${BIN}/${p}`)).status, 200, p);
    const files = await listFiles(cacheDir);
    assert.deepEqual(
      files.filter((f) => f.endsWith(".gpkg.tar")).sort(),
      [`${BIN}/${pkgs[2]}`, `${BIN}/${pkgs[1]}`].sort(),
      "the first one served went",
    );
    assert.ok(files.includes(`${BIN}/Packages`), "the index is in use");
    assert.ok((await cachedBytes(cacheDir)) <= 5 << 20);
  } finally {
    await m.close();
    await bup.close();
  }
});

test("staging left by a crashed process is removed at start and named in the log; a live process's is kept", async () => {
  const cacheDir = join(work, "cache-staging");
  const staging = join(cacheDir, ".staging");
  const exited = execa("true");
  const dead = { pid: exited.pid };
  await exited;
  const live = execa("sleep", ["60"]);
  try {
    const leftovers = {
      old: join(staging, "0a1b2c3d4e5f"), // the format before pids were recorded
      dead: join(staging, `${dead.pid}-00aa11bb-0a1b2c3d4e5f`),
      live: join(staging, `${live.pid}-00aa11bb-0a1b2c3d4e5f`),
    };
    for (const d of Object.values(leftovers)) {
      await mkdir(d, { recursive: true });
      await writeFile(join(d, "stage3.tar.xz.part"), randomBytes(1 << 20));
    }
    await writeFile(join(staging, "stray.part"), "x");
    const { lines, log } = memoryLog();
    const cache = new MirrorCache(parseMirrorConfig(pinnedToFixture(fx, up.url, cacheDir)), {
      log,
    });
    await cache.ready();
    assert.deepEqual(await readdir(staging), [`${live.pid}-00aa11bb-0a1b2c3d4e5f`]);
    assert.ok(!existsSync(leftovers.dead) && !existsSync(leftovers.old));
    const removed = lines.filter((l) => /stale staging/.test(l)).join("\n");
    for (const name of ["0a1b2c3d4e5f", `${dead.pid}-00aa11bb`, "stray.part"])
      assert.ok(removed.includes(name), `${name} in: ${removed}`);
  } finally {
    live.kill();
    await live.catch(() => {});
  }
});
