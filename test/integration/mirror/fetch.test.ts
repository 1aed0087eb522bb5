// The payload's fetch-and-verify library against the mirror server, and
// against a dishonest plain static server (a mirror or network in the
// middle that does not verify anything).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile, mkdir, copyFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import express from "express";
import { execa } from "execa";
import {
  downloadFile,
  fetchSnapshot,
  fetchStage3,
  SignatureError,
} from "../../../shared/verify/index.ts";
import { AUTOBUILDS } from "../../../shared/verify/layout.ts";
import {
  cleanup,
  cloneFixture,
  otherKey,
  replaceFile,
  serveFixture,
  tempDir,
  type Fixture,
  type RunningMirror,
  type ServedFixture,
} from "./helpers.ts";

let fx: Fixture;
let work: string;
let mirror: RunningMirror;
let served: ServedFixture | undefined;

before(async () => {
  served = await serveFixture("fetch");
  ({ fx, work, mirror } = served);
});

after(() => served?.close());

const sha512 = (b: Buffer) => createHash("sha512").update(b).digest("hex");

async function listen(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await new Promise<void>((ok) => server.once("listening", ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const close = (s: Server) =>
  new Promise<void>((ok) => (s.closeAllConnections(), s.close(() => ok())));

test("fetchStage3 through the server: pointer, tarball, .asc, .DIGESTS all verified", async () => {
  const progress: number[] = [];
  const v = await fetchStage3("openrc", {
    mirror: mirror.url,
    trustedKeys: [fx.fingerprint],
    destDir: join(work, "dl-openrc"),
    onProgress: (file, done) => file.endsWith(".tar.xz") && progress.push(done),
  });
  const original = await readFile(join(fx.dir, fx.openrcRel));
  assert.equal(v.sha512, sha512(original));
  assert.equal(v.bytes, original.length);
  assert.equal(v.pointer.size, original.length);
  assert.equal(`${AUTOBUILDS}/${v.pointer.path}`, fx.openrcRel);
  assert.equal(v.signature.primaryFingerprint, fx.fingerprint);
  assert.equal(sha512(await readFile(v.tarball)), v.sha512);
  assert.equal(progress.at(-1), original.length);
});

test("fetchSnapshot through the server", async () => {
  const s = await fetchSnapshot({
    mirror: mirror.url,
    trustedKeys: [fx.fingerprint],
    destDir: join(work, "dl-snap"),
  });
  assert.equal(s.sha512, sha512(await readFile(join(fx.dir, "snapshots/gentoo-latest.tar.xz"))));
  assert.equal(s.signature.primaryFingerprint, fx.fingerprint);
});

/** A plain static server over a clone: what a compromised mirror or a MITM looks like to the payload. */
async function dishonest(
  name: string,
  tamper: (up: string) => Promise<void>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const up = await cloneFixture(fx, join(work, `mitm-${name}`));
  await tamper(up);
  const app = express();
  app.use(express.static(up, { dotfiles: "allow" }));
  const server = createServer(app);
  const url = await listen(server);
  return { url: `${url}/`, close: () => close(server) };
}

test("payload refuses a tampered tarball served without verification (BADSIG)", async () => {
  const m = await dishonest("flip", (up) =>
    replaceFile(up, fx.openrcRel, (b) => {
      b[100] = (b[100] ?? 0) ^ 1;
      return b;
    }),
  );
  try {
    await assert.rejects(
      fetchStage3("openrc", {
        mirror: m.url,
        trustedKeys: [fx.fingerprint],
        destDir: join(work, "dl-flip"),
      }),
      (e: unknown) =>
        e instanceof SignatureError && /BADSIG/.test(e.message) && e.file.endsWith(".tar.xz"),
    );
  } finally {
    await m.close();
  }
});

test("payload refuses an attacker's key served under the pinned fingerprint's name (VALIDSIG primary not pinned)", async () => {
  const attacker = await otherKey(await tempDir("attacker"));
  try {
    const m = await dishonest("attacker", async (up) => {
      // Re-sign the pointer with the attacker's key and publish that key as keys/<pinned FPR>.asc.
      const rel = `${AUTOBUILDS}/latest-stage3-amd64-openrc.txt`;
      const text = await execa("gpg", [
        "--homedir",
        fx.secretHome,
        "--batch",
        "--decrypt",
        join(up, rel),
      ]).then((r) => r.stdout);
      await replaceFile(up, rel, () => Buffer.from(""));
      await writeFile(join(work, "plain"), `${text}\n`);
      await execa("gpg", [
        "--homedir",
        attacker,
        "--batch",
        "--yes",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--clearsign",
        "--output",
        join(up, rel),
        join(work, "plain"),
      ]);
      const pub = await execa("gpg", ["--homedir", attacker, "--armor", "--export"]).then(
        (r) => r.stdout,
      );
      await replaceFile(up, `keys/${fx.fingerprint}.asc`, () => Buffer.from(pub));
    });
    try {
      await assert.rejects(
        fetchStage3("openrc", {
          mirror: m.url,
          trustedKeys: [fx.fingerprint],
          destDir: join(work, "dl-attacker"),
        }),
        (e: unknown) =>
          e instanceof SignatureError &&
          /VALIDSIG primary key [0-9A-F]{40} is not pinned/.test(e.message),
      );
    } finally {
      await m.close();
    }
  } finally {
    await cleanup(attacker);
  }
});

test("downloadFile resumes with Range after the connection drops mid-body", async () => {
  const body = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
  const ranges: Array<string | undefined> = [];
  let first = true;
  const server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    const headers: Record<string, string | number> = {
      "content-length": body.length - start,
      "accept-ranges": "bytes",
    };
    if (m) headers["content-range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(m ? 206 : 200, headers);
    if (first) {
      first = false;
      // send a third of the file, then cut the connection
      res.write(body.subarray(start, start + body.length / 3), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  const url = await listen(server);
  try {
    const dest = join(work, "resumed.bin");
    const d = await downloadFile(`${url}/f`, dest, { retryDelayMs: 10, expectedSize: body.length });
    assert.equal(d.sha512, sha512(body));
    assert.equal(d.bytes, body.length);
    assert.deepEqual(await readFile(dest), body);
    assert.equal(ranges.length, 2);
    assert.equal(ranges[0], undefined);
    assert.match(ranges[1] ?? "", /^bytes=[1-9]\d*-$/);
  } finally {
    await close(server);
  }
});

test("downloadFile starts over when a server ignores Range after a drop", async () => {
  const body = Buffer.alloc(2 * 1024 * 1024, 0x5a);
  body.write("head", 0);
  let n = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-length": body.length }); // never 206
    if (n++ === 0) {
      res.write(body.subarray(0, body.length / 2), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  });
  const url = await listen(server);
  try {
    const dest = join(work, "no-range.bin");
    const d = await downloadFile(`${url}/f`, dest, { retryDelayMs: 10 });
    assert.equal(d.sha512, sha512(body), "digest covers the restarted body only once");
    assert.deepEqual(await readFile(dest), body);
  } finally {
    await close(server);
  }
});

test("downloadFile refuses a file of the wrong size (pointer says otherwise)", async () => {
  await mkdir(join(work, "static"), { recursive: true });
  await copyFile(join(fx.dir, "TEST-KEY-FPR"), join(work, "static", "f"));
  const server = createServer(express().use(express.static(join(work, "static"))));
  const url = await listen(server);
  try {
    await assert.rejects(
      downloadFile(`${url}/f`, join(work, "wrong-size"), {
        expectedSize: 5,
        retries: 1,
        retryDelayMs: 1,
      }),
      /more than 5 bytes|expected 5/,
    );
  } finally {
    await close(server);
  }
});
