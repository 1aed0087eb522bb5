// The admin token on disk (checked, or generated into the state folder) and
// the CLI finding it through the server without configuration.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTokenFile, stateToken } from "../../../server/app/admin-token.ts";
import { AdminClient, hintedToken } from "../../../server/app/client.ts";
import { loadServeConfig } from "../../../server/app/config.ts";
import { startHarness } from "../http/harness.ts";

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "am-admin-token-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const GOOD = "0123456789abcdef-long-enough";

test("a token file other users can read is refused, naming the file and the fix", (t) => {
  const file = join(tempDir(t), "admin-token");
  writeFileSync(file, `${GOOD}\n`);
  chmodSync(file, 0o644);
  assert.throws(() => loadServeConfig(undefined, { adminTokenFile: file }), {
    message: `${file}: admin token file has mode 0644, so other users can read it; chmod 600 ${file}`,
  });
  chmodSync(file, 0o600);
  assert.equal(loadServeConfig(undefined, { adminTokenFile: file }).adminToken, GOOD);
  chmodSync(file, 0o400);
  assert.equal(readTokenFile(file), GOOD);
});

test("a short token file is refused, naming the file and how to make one", (t) => {
  const file = join(tempDir(t), "admin-token");
  writeFileSync(file, "short\n", { mode: 0o600 });
  assert.throws(() => loadServeConfig(undefined, { adminTokenFile: file }), {
    message:
      `${file}: admin token is 5 characters, at least 16 are needed; ` +
      `make one with: openssl rand -base64 32 > ${file}`,
  });
  assert.throws(() => readTokenFile(join(file, "nope")), /cannot read the admin token file/);
  assert.throws(
    () => loadServeConfig(undefined, { adminTokenFile: file, adminToken: GOOD }),
    /flags: adminToken, adminTokenFile: give one, not both/,
  );
});

test("serve's own token: made once in the state folder, mode 0600, then reused", (t) => {
  const state = join(tempDir(t), "state");
  const a = stateToken(state);
  assert.equal(a.file, join(state, "admin-token"));
  assert.equal(statSync(a.file).mode & 0o777, 0o600);
  assert.match(a.token, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(stateToken(state), a);
  chmodSync(a.file, 0o644);
  assert.throws(() => stateToken(state), /mode 0644.*chmod 600/);
});

test("the CLI on the server host finds the token through the server", async (t) => {
  const file = join(tempDir(t), "admin-token");
  writeFileSync(file, `${GOOD}\n`, { mode: 0o600 });
  const h = await startHarness({ config: { adminToken: GOOD, adminTokenFile: file } });
  t.after(() => h.close());
  const bare = await fetch(`${h.url}/api/v1/admin/hosts`);
  assert.equal(bare.status, 401);
  assert.deepEqual(Object.keys((await bare.json()) as object), ["error"], "no nonce: no hint");
  const c = new AdminClient({ server: h.url });
  const hosts = await c.json<Array<{ host: string }>>("GET", "/api/v1/admin/hosts");
  assert.deepEqual(
    hosts.map((s) => s.host),
    ["ws1", "ws2"],
  );
  // what the CLI says when the file the server names is no use to it
  const url = new URL(h.url);
  const hint = (tokenFile: string) => hintedToken({ tokenFile, proof: "x" }, url, "n".repeat(22));
  assert.deepEqual(hint("/dev/null"), { problem: "; /dev/null is not a token file" });
  assert.deepEqual(hint(join(file, "x")), {
    problem: `; this user cannot read ${join(file, "x")} (ENOTDIR): run as its owner or pass --admin-token`,
  });
  assert.deepEqual(hint("relative/admin-token"), { problem: "" });
  assert.deepEqual(
    hintedToken({ tokenFile: file, proof: "x" }, new URL("http://10.0.0.1/"), "n"),
    {
      problem: "",
    },
    "only a loopback server is asked",
  );
});

test("the CLI sends the token only to a server that proves it holds it", async (t) => {
  const file = join(tempDir(t), "admin-token");
  writeFileSync(file, `${GOOD}\n`, { mode: 0o600 });
  // A process on another loopback port pointing at the real token file.
  const seen: IncomingHttpHeaders[] = [];
  const rogue = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(401, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "token please", tokenFile: file, proof: "0".repeat(64) }));
  });
  await new Promise<void>((r) => rogue.listen(0, "127.0.0.1", () => r()));
  t.after(() => rogue.close());
  const url = `http://127.0.0.1:${(rogue.address() as AddressInfo).port}`;
  await assert.rejects(
    new AdminClient({ server: url }).json("GET", "/api/v1/admin/hosts"),
    /HTTP 401: token please; the server at 127\.0\.0\.1:\d+ does not hold the token in .*admin-token/,
  );
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.authorization, undefined);
  assert.equal(readFileSync(file, "utf8").trim(), GOOD);
});
