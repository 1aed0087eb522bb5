// The whole server on loopback with the test client: no root, no namespaces.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { mkdtemp, rm, writeFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  startTftpServer,
  type TftpServer,
  type TftpTraceEvent,
} from "../../../server/tftp/index.ts";
import { decode, encodeRequest } from "../../../server/tftp/packet.ts";
import { TftpError, tftpGet } from "../../lib/tftp-client.ts";

let dir = "";
let server: TftpServer;
const traces: TftpTraceEvent[] = [];
const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 0xff));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "am-tftp-srv-"));
  await writeFile(join(dir, "big.bin"), big);
  await writeFile(join(dir, "empty"), "");
  await symlink("/etc/passwd", join(dir, "passwd"));
  server = await startTftpServer({
    root: dir,
    address: "127.0.0.1",
    port: 0,
    onTrace: (e) => traces.push(e),
  });
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const get = (file: string, options: [string, string][] = [], mode = "octet") =>
  tftpGet({ host: "127.0.0.1", port: server.port, file, options, mode });

test("serves a file lock-step, with blksize+tsize, and with windowsize", async () => {
  assert.deepEqual((await get("big.bin")).data, big);
  const r = await get("/big.bin", [
    ["blksize", "1468"],
    ["tsize", "0"],
  ]);
  assert.deepEqual(r.data, big);
  assert.deepEqual(r.oack, [
    ["blksize", "1468"],
    ["tsize", "300000"],
  ]);
  assert.notEqual(r.serverPort, server.port, "a transfer runs on its own port (TID)");
  const w = await get("big.bin", [
    ["blksize", "8192"],
    ["windowsize", "8"],
  ]);
  assert.deepEqual(w.data, big);
  assert.deepEqual((await get("empty")).data, Buffer.alloc(0));
});

test("many concurrent transfers all complete byte-identical", async () => {
  const all = await Promise.all(
    Array.from({ length: 40 }, (_, i) => get("big.bin", [["blksize", String(512 + i * 30)]])),
  );
  for (const r of all) assert.deepEqual(r.data, big);
});

test("errors: missing file, symlink out, traversal, bad mode", async () => {
  const code = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof TftpError, String(e));
    return e.code;
  };
  assert.equal(await code(get("nope")), 1);
  assert.equal(await code(get("passwd")), 2);
  assert.equal(await code(get("../../../../etc/passwd")), 2);
  assert.equal(await code(get("big.bin", [], "mail")), 4);
  const err = traces.find((t) => t.what === "error" && t.detail.file === "passwd");
  assert.ok(err && err.source === "tftp" && /outside/.test(String(err.detail.reason)));
});

test("write requests are refused with an ERROR; garbage is counted and dropped", async () => {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  try {
    const reply = new Promise<Buffer>((r) => sock.once("message", (m) => r(m)));
    sock.send(encodeRequest("wrq", "up.bin", "octet"), server.port, "127.0.0.1");
    assert.deepEqual(decode(await reply), {
      ok: true,
      packet: { op: "error", code: 2, message: "read-only server" },
    });
    const before = server.stats().malformed;
    for (const junk of [
      Buffer.alloc(0),
      Buffer.from([1]),
      Buffer.from([0, 1, 65]),
      Buffer.from([0, 99, 0, 0]),
    ]) {
      sock.send(junk, server.port, "127.0.0.1");
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(server.stats().malformed - before, 4);
    assert.deepEqual((await get("empty")).data, Buffer.alloc(0), "still serving");
  } finally {
    sock.close();
  }
});

test("stats and trace count transfers", async () => {
  // The final ACK reaches the server just after the client has its data.
  for (let i = 0; i < 50 && server.stats().active > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  const s = server.stats();
  assert.ok(s.transfers >= 45);
  assert.ok(s.errors >= 5);
  assert.equal(s.active, 0);
  assert.ok(traces.some((t) => t.what === "rrq") && traces.some((t) => t.what === "done"));
});
