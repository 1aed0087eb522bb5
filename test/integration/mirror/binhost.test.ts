// The binhost through the mirror's real HTTP route, against a small
// upstream HTTP server on 127.0.0.1 that counts every request: two targets
// fetch the index and both gpkgs (one of them concurrently), each gpkg leaves
// upstream exactly once; a gpkg that disagrees with its index entry is
// refused and not kept; a path the index does not list is never fetched.
// The gpkgs are byte blobs: the server checks them against the index only
// (signatures are the target Portage's job), so their content does not matter.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GENTOO_RELEASE_KEY } from "../../../payload/spec/schema.ts";
import { cleanup, listFiles, startMirror, tempDir, type RunningMirror } from "./helpers.ts";

const BIN = "releases/amd64/binpackages/23.0/x86-64";
const INDEX = `${BIN}/Packages`;
const HELLO = "app-misc/hello/hello-2.12-r1-1.gpkg.tar";
const TOOLS = "sys-apps/tools/tools-1.0-3.gpkg.tar";
const TAMPERED = "app-misc/tampered/tampered-1-1.gpkg.tar"; // same size, other bytes
const SHORT = "app-misc/short/short-1-1.gpkg.tar"; // fewer bytes than SIZE
const GONE = "app-misc/gone/gone-1-1.gpkg.tar"; // listed, but upstream lacks it
const UNLISTED = "app-misc/unlisted/unlisted-1-1.gpkg.tar"; // upstream has it, the index does not

let work: string;
let up: Upstream;
let mirror: RunningMirror;
let cacheDir: string;
const blobs = new Map<string, Buffer>();

const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

/** One Packages block, shaped like Portage writes them. */
function entry(path: string, b: Buffer): string {
  const cpv = `${path.split("/")[0]}/${path.split("/")[2]!.replace(/-\d+\.gpkg\.tar$/, "")}`;
  return [
    "BUILD_ID: 1",
    `CPV: ${cpv}`,
    "EAPI: 8",
    `MD5: ${md5(b)}`,
    `PATH: ${path}`,
    `SHA1: ${sha1(b)}`,
    `SIZE: ${b.length}`,
    "REPO: gentoo",
    "",
  ].join("\n");
}

function indexText(paths: string[]): string {
  const header = `ARCH: amd64\nCHOST: x86_64-pc-linux-gnu\nPACKAGES: ${paths.length}\nVERSION: 0\n`;
  return [header, ...paths.map((p) => entry(p, blobs.get(p)!))].join("\n");
}

interface Upstream {
  url: string;
  root: string;
  server: Server;
  /** GETs per mirror path. */
  hits: Map<string, number>;
  /** Answer these paths 403 (a broken upstream). */
  refuse: Set<string>;
}

/** A static file server over `root` that counts requests and answers slowly enough for requests to overlap. */
async function countingUpstream(root: string): Promise<Upstream> {
  const hits = new Map<string, number>();
  const refuse = new Set<string>();
  const server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(1));
    hits.set(rel, (hits.get(rel) ?? 0) + 1);
    // Fire-and-forget: nothing in it rejects (a missing file is a 404).
    void (async () => {
      await sleep(150);
      if (refuse.has(rel)) return res.writeHead(403).end();
      const body = await readFile(join(root, rel)).catch(() => undefined);
      if (!body) return res.writeHead(404).end();
      res.writeHead(200, { "content-length": body.length }).end(body);
    })();
  });
  server.listen(0, "127.0.0.1");
  await new Promise<void>((ok) => server.once("listening", ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, root, server, hits, refuse };
}

async function put(rel: string, data: Buffer | string): Promise<void> {
  await mkdir(dirname(join(up.root, rel)), { recursive: true });
  await writeFile(join(up.root, rel), data);
}

const hits = (rel: string) => up.hits.get(`${BIN}/${rel}`) ?? 0;

before(async () => {
  work = await tempDir("binhost");
  cacheDir = join(work, "cache");
  up = await countingUpstream(join(work, "upstream"));
  for (const p of [HELLO, TOOLS, TAMPERED, SHORT, GONE, UNLISTED])
    blobs.set(p, randomBytes(p === HELLO ? 3 << 20 : 40_000));
  for (const p of [HELLO, TOOLS, UNLISTED]) await put(`${BIN}/${p}`, blobs.get(p)!);
  const tampered = Buffer.from(blobs.get(TAMPERED)!);
  tampered[100] = tampered[100]! ^ 0xff;
  await put(`${BIN}/${TAMPERED}`, tampered);
  await put(`${BIN}/${SHORT}`, blobs.get(SHORT)!.subarray(0, 1000));
  await put(INDEX, indexText([HELLO, TOOLS, TAMPERED, SHORT, GONE]));
  mirror = await startMirror({
    // The stage3 side points nowhere: everything here must come from binhostUpstream.
    upstream: join(work, "no-stage3-upstream"),
    binhostUpstream: up.url,
    cacheDir,
    keysDir: join(work, "keys"),
    trustedKeys: [GENTOO_RELEASE_KEY],
  });
});

after(async () => {
  await mirror?.close();
  await new Promise<void>((ok) => (up.server.closeAllConnections(), up.server.close(() => ok())));
  await cleanup(work);
});

/** What a target's Portage does: the index, then the packages it names. */
async function get(rel: string): Promise<{ status: number; body: Buffer; type: string | null }> {
  const r = await fetch(`${mirror.url}${BIN}/${rel}`);
  return {
    status: r.status,
    body: Buffer.from(await r.arrayBuffer()),
    type: r.headers.get("content-type"),
  };
}

test("two targets get the index and both gpkgs; each gpkg leaves upstream exactly once", async () => {
  // Target 1 asks for HELLO four times at once (parallel fetchers), target 2 later.
  const index1 = await get("Packages");
  assert.equal(index1.status, 200);
  assert.match(index1.type ?? "", /^text\/plain/);
  assert.match(index1.body.toString(), new RegExp(`^PATH: ${HELLO}$`, "m"));
  const first = await Promise.all([...Array<void>(4)].map(() => get(HELLO)));
  for (const r of first) {
    assert.equal(r.status, 200);
    assert.equal(sha1(r.body), sha1(blobs.get(HELLO)!));
  }
  assert.equal((await get(TOOLS)).status, 200);

  const index2 = await get("Packages");
  assert.deepEqual(index2.body, index1.body);
  const [hello, tools] = await Promise.all([get(HELLO), get(TOOLS)]);
  assert.equal(sha1(hello.body), sha1(blobs.get(HELLO)!));
  assert.equal(sha1(tools.body), sha1(blobs.get(TOOLS)!));
  assert.equal(tools.type, "application/x-tar");

  assert.equal(hits(HELLO), 1, "HELLO fetched from upstream once for 5 requests, 4 concurrent");
  assert.equal(hits(TOOLS), 1, "TOOLS fetched from upstream once for 2 requests");
  assert.equal(hits("Packages"), 1, "the index is fresh for refreshSeconds");
  const kept = await listFiles(cacheDir);
  assert.deepEqual(kept, [INDEX, `${BIN}/${HELLO}`, `${BIN}/${TOOLS}`].sort());
  assert.deepEqual(await readFile(join(cacheDir, BIN, HELLO)), blobs.get(HELLO));
});

test("a gpkg that disagrees with its index entry is refused (502) and not kept", async () => {
  const bad = await get(TAMPERED);
  assert.equal(bad.status, 502);
  assert.match(bad.body.toString(), /SHA1 mismatch|MD5 mismatch/);
  const short = await get(SHORT);
  assert.equal(short.status, 502);
  assert.match(short.body.toString(), /SIZE mismatch \(index 40000, got 1000\)/);
  assert.equal(existsSync(join(cacheDir, BIN, TAMPERED)), false);
  assert.equal(existsSync(join(cacheDir, BIN, SHORT)), false);
  assert.equal((await get(TAMPERED)).status, 502, "refused again: nothing was kept");
  assert.equal(hits(TAMPERED), 2);
  assert.deepEqual(
    (await listFiles(cacheDir)).filter((f) => f.startsWith(".staging/")),
    [],
    "staging is cleaned up",
  );
});

test("a path the index does not list is 404 without asking upstream", async () => {
  const r = await get(UNLISTED);
  assert.equal(r.status, 404);
  assert.match(r.body.toString(), /not in the binhost's Packages index/);
  assert.equal(hits(UNLISTED), 0);
  for (const other of ["Packages.gz", "app-misc/hello/hello-2.12-r1-1.xpak", "hello.gpkg.tar"]) {
    assert.equal((await get(other)).status, 404, other);
    assert.equal(hits(other), 0, other);
  }
  const gone = await get(GONE);
  assert.equal(gone.status, 404, "listed but not on upstream");
  assert.equal(hits(GONE), 1);
});

test("the index is re-fetched after refreshSeconds; the cached copy stays when upstream fails", async () => {
  const dir = join(work, "cache-refresh");
  const m = await startMirror({
    upstream: up.url, // no binhostUpstream: the binhost comes from upstream
    cacheDir: dir,
    keysDir: join(work, "keys"),
    trustedKeys: [GENTOO_RELEASE_KEY],
    refreshSeconds: 0,
  });
  try {
    const url = `${m.url}${INDEX}`;
    const before = hits("Packages");
    assert.equal((await fetch(url)).status, 200);
    assert.equal((await fetch(`${m.url}${BIN}/${UNLISTED}`)).status, 404);
    // Upstream publishes UNLISTED: the next index lists it, and then it is served.
    await put(INDEX, indexText([HELLO, TOOLS, TAMPERED, SHORT, GONE, UNLISTED]));
    const r = await fetch(`${m.url}${BIN}/${UNLISTED}`);
    assert.equal(r.status, 200);
    assert.equal(sha1(Buffer.from(await r.arrayBuffer())), sha1(blobs.get(UNLISTED)!));
    assert.equal(hits(UNLISTED), 1);
    assert.equal(hits("Packages") - before, 3, "each request re-fetched the stale index");

    up.refuse.add(INDEX);
    const stale = await fetch(url);
    assert.equal(stale.status, 200, "the cached index is served while upstream refuses");
    assert.match(await stale.text(), new RegExp(`^PATH: ${UNLISTED}$`, "m"));
  } finally {
    up.refuse.delete(INDEX);
    await m.close();
  }
});
