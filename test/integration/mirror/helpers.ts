// Shared by the mirror integration tests: the real fixture mirror (built or
// taken from its input-hash cache), a mirror server on 127.0.0.1, and
// throwaway upstream copies to tamper with.
import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import express from "express";
import { execa } from "execa";
import { createMirrorRouter } from "../../../server/mirror/router.ts";
import { parseMirrorConfig, type MirrorConfigInput } from "../../../server/mirror/config.ts";
import { MirrorCache, type MirrorCacheOptions } from "../../../server/mirror/cache.ts";
import { AUTOBUILDS } from "../../../shared/verify/layout.ts";

export const REPO = resolve(import.meta.dirname, "../../..");
export const FIXTURE = join(REPO, "var/fixture-mirror");

export interface Fixture {
  dir: string;
  fingerprint: string;
  /** GNUPGHOME with the fixture's secret key, for re-signing tampered copies. */
  secretHome: string;
  /** releases/amd64/autobuilds/<stamp>/stage3-amd64-openrc-<stamp>.tar.xz */
  openrcRel: string;
}

/** Builds the fixture mirror if its inputs changed (a no-op when cached); fails loudly when it cannot. */
export async function ensureFixture(): Promise<Fixture> {
  for (const tool of ["mmdebstrap", "gpg", "xz", "tar"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`]);
    } catch {
      throw new Error(`required tool missing: ${tool} (run bin/setup-debian)`);
    }
  }
  await execa("npx", ["tsx", "test/fixture-mirror/build.ts"], {
    cwd: REPO,
    stdout: "inherit",
    stderr: "inherit",
  });
  const fingerprint = (await readFile(join(FIXTURE, "TEST-KEY-FPR"), "utf8")).trim();
  const pointer = await readFile(
    join(FIXTURE, AUTOBUILDS, "latest-stage3-amd64-openrc.txt"),
    "utf8",
  );
  const path = /^(\d{8}T\d{6}Z\/\S+\.tar\.xz) \d+$/m.exec(pointer)?.[1];
  if (!path) throw new Error(`${FIXTURE}: openrc pointer has no stage line`);
  return {
    dir: FIXTURE,
    fingerprint,
    secretHome: `${FIXTURE}-secret`,
    openrcRel: `${AUTOBUILDS}/${path}`,
  };
}

export interface RunningMirror {
  url: string;
  close(): Promise<void>;
}

/** Serves createMirrorRouter(cfg) at http://127.0.0.1:<port>/mirror. */
export async function startMirror(
  cfg: MirrorConfigInput,
  opts: MirrorCacheOptions = {},
): Promise<RunningMirror & { cache: MirrorCache }> {
  const app = express();
  const cache = new MirrorCache(parseMirrorConfig(cfg), opts);
  app.use("/mirror", createMirrorRouter(cfg, { cache }));
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((ok, fail) => server.once("listening", ok).once("error", fail));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mirror/`,
    cache,
    close: async () => {
      await new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      });
      // A pointer request starts a background stage3 fetch; let it finish
      // before the test removes the cache dir (it would recreate it).
      await cache.idle();
    },
  };
}

/** Mirror settings that serve `upstream` (the fixture or a tampered clone) pinned to the fixture's key. */
export function pinnedToFixture(
  fx: Fixture,
  upstream: string,
  cacheDir: string,
): MirrorConfigInput {
  return { upstream, cacheDir, keysDir: join(fx.dir, "keys"), trustedKeys: [fx.fingerprint] };
}

export interface ServedFixture {
  fx: Fixture;
  /** A fresh temp folder for the test file; the mirror's cache is `cacheDir` inside it. */
  work: string;
  cacheDir: string;
  mirror: RunningMirror;
  /** Stops the mirror and removes `work`. */
  close(): Promise<void>;
}

/** The fixture mirror (built if needed) served honestly from a fresh work folder. */
export async function serveFixture(prefix: string): Promise<ServedFixture> {
  const fx = await ensureFixture();
  const work = await tempDir(prefix);
  const cacheDir = join(work, "cache");
  let mirror: RunningMirror;
  try {
    mirror = await startMirror(pinnedToFixture(fx, fx.dir, cacheDir));
  } catch (e) {
    await cleanup(work);
    throw e;
  }
  return {
    fx,
    work,
    cacheDir,
    mirror,
    close: async () => {
      await mirror.close();
      await cleanup(work);
    },
  };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `automagic-mirror-${prefix}-`));
}

/** A hard-linked copy of the fixture: cheap, and files are replaced (never written through) when tampered. */
export async function cloneFixture(fx: Fixture, dest: string): Promise<string> {
  await execa("cp", ["-al", fx.dir, dest]);
  return dest;
}

/** Replaces `rel` in a clone with `edit(original bytes)`, breaking the hard link first. */
export async function replaceFile(
  root: string,
  rel: string,
  edit: (b: Buffer) => Buffer,
): Promise<void> {
  const p = join(root, rel);
  const data = edit(await readFile(p));
  await unlink(p);
  await writeFile(p, data);
}

/** Re-signs `rel` (detached, armored) in a clone with the given GNUPGHOME's default key. */
export async function resign(
  home: string,
  root: string,
  rel: string,
  sigExt = ".asc",
): Promise<void> {
  const sig = join(root, `${rel}${sigExt}`);
  await unlink(sig).catch(() => {});
  await execa("gpg", [
    "--homedir",
    home,
    "--batch",
    "--no-tty",
    "--pinentry-mode",
    "loopback",
    "--passphrase",
    "",
    "--armor",
    "--detach-sign",
    "--output",
    sig,
    join(root, rel),
  ]);
}

/** A second, unrelated key: what an attacker who controls a mirror would sign with. */
export async function otherKey(dir: string): Promise<string> {
  await execa("gpg", [
    "--homedir",
    dir,
    "--batch",
    "--pinentry-mode",
    "loopback",
    "--passphrase",
    "",
    "--quick-gen-key",
    "Attacker <evil@automagic.invalid>",
    "ed25519",
    "sign",
    "never",
  ]);
  return dir;
}

export async function cleanup(...dirs: string[]): Promise<void> {
  for (const d of dirs) {
    await execa("gpgconf", ["--homedir", d, "--kill", "all"], { reject: false });
    await rm(d, { recursive: true, force: true });
  }
}

export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, pre: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name), `${pre}${e.name}/`);
      else out.push(`${pre}${e.name}`);
    }
  };
  await walk(root, "");
  return out.sort();
}

export interface CountingUpstream {
  url: string;
  /** GETs per mirror path. */
  hits: Map<string, number>;
  total(): number;
  close(): Promise<void>;
}

/** A plain static HTTP server over `root` (e.g. the fixture) that counts every request. */
export async function countingUpstream(root: string): Promise<CountingUpstream> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(1));
    hits.set(rel, (hits.get(rel) ?? 0) + 1);
    const file = join(root, rel);
    stat(file).then(
      (st) => {
        res.writeHead(200, { "content-length": st.size });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  server.listen(0, "127.0.0.1");
  await new Promise<void>((ok) => server.once("listening", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    hits,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    close: () =>
      new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}
