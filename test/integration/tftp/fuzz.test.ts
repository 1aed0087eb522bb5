// 100,000 random and mutated datagrams at the listening port and at a live
// transfer; afterwards the server is still up and real clients still get
// byte-identical files.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { requireTool } from "../../lib/tools.ts";
import { startFixture, type Fixture } from "./harness.ts";

const COUNT = 100_000;

describe("tftp fuzz", () => {
  let fx: Fixture;
  before(async () => {
    for (const tool of ["curl", "tftp"]) requireTool(tool);
    fx = await startFixture();
  });
  after(async () => {
    await fx?.close();
  });

  test(`survives ${COUNT} random and mutated datagrams`, { timeout: 300_000 }, async (t) => {
    const script = join(import.meta.dirname, "fuzz-client.ts");
    const r = await fx.net.inClient(
      "node",
      ["--import", "tsx", script, fx.net.serverIp, String(COUNT), "20240601"],
      {
        cwd: join(import.meta.dirname, "../../.."),
        timeout: 280_000,
      },
    );
    const summary = JSON.parse(String(r.stdout)) as {
      sent: number;
      toListener: number;
      toTransfer: number;
    };
    assert.equal(summary.sent, COUNT);
    assert.equal(fx.alive(), true, "server process died");
    const s = await fx.stats();
    t.diagnostic(`fuzzer ${JSON.stringify(summary)}; server ${JSON.stringify(s)}`);
    // Not every datagram survives the socket buffers, but thousands must have
    // been decoded, rejected and counted.
    assert.ok(s.malformed > 5_000, JSON.stringify(s));
    assert.ok(s.errors > 100, JSON.stringify(s));
  });

  test("still serves real clients afterwards", { timeout: 90_000 }, async () => {
    // The fuzzer's transfers came from the clients' address and hold its 8
    // slots until their closed ports answer port-unreachable or the retries
    // run out: every slot must come free (no leak), then the clients are served.
    while ((await fx.stats()).active > 0) await new Promise((r) => setTimeout(r, 200));
    const want = await readFile(join(fx.root, "random-3m.bin"));
    const c = await fx.net.inClient(
      "curl",
      ["-sS", "--tftp-blksize", "1468", "-o", "fz-curl", `tftp://${fx.net.serverIp}/random-3m.bin`],
      {
        cwd: fx.out,
        timeout: 50_000,
      },
    );
    assert.equal(c.exitCode, 0);
    assert.ok(want.equals(await readFile(join(fx.out, "fz-curl"))));
    await fx.net.inClient(
      "tftp",
      ["-m", "binary", fx.net.serverIp, "-c", "get", "undionly.kpxe", "fz-hpa"],
      { cwd: fx.out },
    );
    assert.ok(
      (await readFile(join(fx.root, "undionly.kpxe"))).equals(
        await readFile(join(fx.out, "fz-hpa")),
      ),
    );
    assert.equal(fx.alive(), true);
  });
});
