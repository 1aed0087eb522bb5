// Real clients (tftp-hpa, atftp, curl) fetch from our server across a veth
// pair between two namespaces: default and large blksize, windowsize,
// netascii, and refusals (traversal, symlink out, writes).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { requireTool } from "../../lib/tools.ts";
import { startFixture, type Fixture } from "./harness.ts";

describe("tftp with real clients", () => {
  let fx: Fixture;
  before(async () => {
    for (const tool of ["tftp", "atftp", "curl", "ip"]) requireTool(tool);
    fx = await startFixture({ maxBlksize: 65464 });
  });
  after(async () => {
    await fx?.close();
  });

  const same = async (file: string, local: string) =>
    assert.ok(
      (await readFile(join(fx.root, file))).equals(await readFile(join(fx.out, local))),
      `${file} differs`,
    );
  const client = (cmd: string, args: string[]) =>
    fx.net.inClient(cmd, args, { cwd: fx.out, reject: false, timeout: 60_000 });

  test("tftp-hpa (RFC 1350, no options) fetches binaries byte-identical", async () => {
    for (const file of ["undionly.kpxe", "random-3m.bin", "exact-1k.bin"]) {
      const r = await client("tftp", [
        "-m",
        "binary",
        fx.net.serverIp,
        "-c",
        "get",
        file,
        `hpa-${file}`,
      ]);
      assert.equal(r.exitCode, 0, `${r.stdout}${r.stderr}`);
      await same(file, `hpa-${file}`);
    }
  });

  test("tftp-hpa ascii mode gets netascii and converts it back", async () => {
    const r = await client("tftp", [
      "-m",
      "ascii",
      fx.net.serverIp,
      "-c",
      "get",
      "text.txt",
      "hpa-text.txt",
    ]);
    assert.equal(r.exitCode, 0, `${r.stdout}${r.stderr}`);
    await same("text.txt", "hpa-text.txt");
  });

  for (const blksize of [undefined, 1468, 8192]) {
    test(`curl fetches with ${blksize ? `blksize ${blksize}` : "default options"}`, async () => {
      const local = `curl-${blksize ?? "def"}.bin`;
      const args = ["-sS", "-o", local, ...(blksize ? ["--tftp-blksize", String(blksize)] : [])];
      const r = await client("curl", [...args, `tftp://${fx.net.serverIp}/random-3m.bin`]);
      assert.equal(r.exitCode, 0, String(r.stderr));
      await same("random-3m.bin", local);
    });
  }

  for (const opts of [
    ["blksize 1468"],
    ["blksize 1468", "windowsize 8"],
    ["blksize 8192", "windowsize 4"],
    ["windowsize 16"],
  ]) {
    test(`atftp fetches with ${opts.join(", ")}`, async () => {
      const local = `atftp-${opts.join("-").replaceAll(" ", "")}.bin`;
      const flags = opts.flatMap((o) => ["--option", o]);
      for (const file of ["random-3m.bin", "snponly.efi", "exact-1k.bin"]) {
        const r = await client("atftp", [
          ...flags,
          "-g",
          "-r",
          file,
          "-l",
          `${local}-${file}`,
          fx.net.serverIp,
        ]);
        assert.equal(r.exitCode, 0, `${r.stdout}${r.stderr}`);
        await same(file, `${local}-${file}`);
      }
    });
  }

  test("traversal, absolute paths and symlinks out get a TFTP error", async () => {
    // curl exit codes: 68 = TFTP "file not found", 69 = TFTP "permission problem".
    for (const [path, code] of [
      ["../../../../etc/passwd", 68], // curl normalises the URL to /etc/passwd: absolute, looked up under the root
      ["..%2F..%2Fetc/passwd", 69], // sent as ../../etc/passwd
      ["escape", 69],
    ] as const) {
      const r = await client("curl", ["-sS", "-o", "x", `tftp://${fx.net.serverIp}/${path}`]);
      assert.equal(r.exitCode, code, `curl ${path}: ${r.stderr}`);
    }
    for (const path of ["../secret", "/etc/passwd", "escape", "/../../etc/shadow"]) {
      const r = await client("atftp", ["-g", "-r", path, "-l", "leak", fx.net.serverIp]);
      assert.notEqual(r.exitCode, 0, `atftp ${path} must fail`);
      assert.match(`${r.stdout}${r.stderr}`, /(access violation|file not found)/i);
    }
    const hpa = await client("tftp", [
      "-m",
      "binary",
      fx.net.serverIp,
      "-c",
      "get",
      "../secret",
      "leak2",
    ]);
    assert.match(`${hpa.stdout}${hpa.stderr}`, /Error code 2: access violation/);
  });

  test("uploads are refused with a TFTP error", async () => {
    const r = await client("tftp", [
      "-m",
      "binary",
      fx.net.serverIp,
      "-c",
      "put",
      "/etc/hostname",
      "upload.txt",
    ]);
    assert.match(`${r.stdout}${r.stderr}`, /Error code 2: read-only server/);
    const a = await client("atftp", [
      "-p",
      "-l",
      "/etc/hostname",
      "-r",
      "upload.txt",
      fx.net.serverIp,
    ]);
    assert.notEqual(a.exitCode, 0);
  });

  test("the server counted the transfers and the refusals", async () => {
    const s = await fx.stats();
    assert.equal(s.transfers, 19, JSON.stringify(s)); // 3 + 1 tftp-hpa, 3 curl, 4 x 3 atftp
    assert.ok(s.errors >= 10, JSON.stringify(s));
    assert.equal(fx.alive(), true);
  });
});
