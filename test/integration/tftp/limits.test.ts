// The server's bounds against clients that hold slots or are not there at
// all, with real clients beside them: the timeout option is capped, one
// address gets at most 8 transfers at a time, a spoofed RRQ (never ACKed) is
// answered at most 3 times — counted on the wire by an nftables counter in
// the client namespace — and a crawling transfer ends at its lifetime.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { requireTool } from "../../lib/tools.ts";
import { startFixture, startSlowClients, type Fixture } from "./harness.ts";
import type { SlowSpec } from "./slow-client.ts";

const SLOW_IP = "10.77.0.3";
const VICTIM_IP = "10.77.0.99";

/** slow-client.ts readers of undionly.kpxe in the client namespace. */
const readers = (fx: Fixture, bind: string, count: number, spec: Partial<SlowSpec> = {}) =>
  startSlowClients(fx.net, { host: fx.net.serverIp, bind, count, file: "undionly.kpxe", ...spec });

async function addAddress(fx: Fixture, ip: string): Promise<void> {
  await fx.net.inClient("ip", ["addr", "add", `${ip}/24`, "dev", fx.net.clientIf]);
}

/** Runs `fn` with new sockets in the client namespace sourcing from `ip` (a host route's src hint). */
async function from<T>(fx: Fixture, ip: string, fn: () => Promise<T>): Promise<T> {
  const route = [`${fx.net.serverIp}/32`, "dev", fx.net.clientIf, "src", ip];
  await fx.net.inClient("ip", ["route", "add", ...route]);
  try {
    return await fn();
  } finally {
    await fx.net.inClient("ip", ["route", "del", ...route]);
  }
}

async function untilIdle(fx: Fixture): Promise<void> {
  while ((await fx.stats()).active > 0) await new Promise((r) => setTimeout(r, 200));
}

const atftp = (fx: Fixture, local: string, opts: string[]) =>
  fx.net.inClient(
    "atftp",
    [
      ...opts.flatMap((o) => ["--option", o]),
      "--trace",
      "-g",
      "-r",
      "undionly.kpxe",
      "-l",
      local,
      fx.net.serverIp,
    ],
    { cwd: fx.out, reject: false, all: true, timeout: 60_000 },
  );

async function sameAsServed(fx: Fixture, local: string): Promise<void> {
  const want = await readFile(join(fx.root, "undionly.kpxe"));
  assert.ok(want.equals(await readFile(join(fx.out, local))), `${local} differs`);
}

describe("tftp limits (defaults)", () => {
  let fx: Fixture;
  before(async () => {
    for (const tool of ["atftp", "curl", "nft", "ip"]) requireTool(tool);
    fx = await startFixture();
    await addAddress(fx, SLOW_IP);
    await addAddress(fx, VICTIM_IP);
  });
  after(async () => {
    await fx?.close();
  });

  test("timeout 255 is left out of the OACK; atftp and curl still fetch", async () => {
    const r = await atftp(fx, "t255", ["timeout 255", "blksize 1432", "tsize 0"]);
    assert.equal(r.exitCode, 0, String(r.all));
    const oack = /received OACK <([^>]*)>/.exec(String(r.all))?.[1] ?? "";
    assert.ok(oack.includes("blksize: 1432"), String(r.all));
    assert.ok(!oack.includes("timeout"), `OACK carries a timeout: ${oack}`);
    await sameAsServed(fx, "t255");
    // curl asks for timeout 6 by default (its max-time / 50).
    const c = await fx.net.inClient(
      "curl",
      ["-sS", "--tftp-blksize", "1432", "-o", "t-curl", `tftp://${fx.net.serverIp}/undionly.kpxe`],
      { cwd: fx.out, reject: false, timeout: 60_000 },
    );
    assert.equal(c.exitCode, 0, String(c.stderr));
    await sameAsServed(fx, "t-curl");
  });

  test(
    "the 9th transfer from one address is refused while another address is served",
    {
      timeout: 120_000,
    },
    async () => {
      // 8 readers that ACK every packet 0.5 s late, blksize 8: alive for the whole test.
      const slow = await readers(fx, SLOW_IP, 8, { options: [["blksize", "8"]], ackMs: 500 });
      try {
        assert.equal(slow.first.started, 8, JSON.stringify(slow.first));
        const refused = await from(fx, SLOW_IP, () => atftp(fx, "ninth", ["blksize 1432"]));
        assert.notEqual(refused.exitCode, 0, String(refused.all));
        assert.match(String(refused.all), /too many transfers from your address/);
        const served = await atftp(fx, "other", ["blksize 1432", "tsize 0"]);
        assert.equal(served.exitCode, 0, String(served.all));
        await sameAsServed(fx, "other");
        assert.equal((await slow.stats()).holding, 8, "the slow readers kept their slots");
      } finally {
        await slow.quit();
      }
    },
  );

  test(
    "a spoofed RRQ (never ACKed) gets at most 3 packets back",
    { timeout: 120_000 },
    async (t) => {
      await fx.net.inClient("nft", ["-f", "-"], {
        input: `table inet spoof {
  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr ${fx.net.serverIp} ip daddr ${VICTIM_IP} meta l4proto udp counter
  }
}
`,
      });
      // One request answered with DATA 1, one (with options) with an OACK.
      const plain = await readers(fx, VICTIM_IP, 1);
      const withOptions = await readers(fx, VICTIM_IP, 1, {
        options: [
          ["timeout", "255"],
          ["blksize", "1432"],
        ],
      });
      try {
        // Both sockets stay open (no port-unreachable ends it early): only the
        // server's own give-up does.
        await untilIdle(fx);
        const listed = await fx.net.inClient("nft", ["list", "table", "inet", "spoof"]);
        const onWire = Number(/counter packets (\d+)/.exec(String(listed.stdout))?.[1]);
        const per = [(await plain.stats()).packets, (await withOptions.stats()).packets];
        t.diagnostic(`on the wire ${onWire}; DATA-first request ${per[0]}, OACK-first ${per[1]}`);
        assert.ok(
          per.every((n) => n >= 1 && n <= 3),
          `packets per request: ${per.join(", ")}`,
        );
        assert.equal(onWire, per[0]! + per[1]!, `on the wire ${onWire}, received ${per.join("+")}`);
      } finally {
        await plain.quit();
        await withOptions.quit();
        await fx.net.inClient("nft", ["delete", "table", "inet", "spoof"], { reject: false });
      }
    },
  );
});

describe("tftp limits (lifetime 3 s, one transfer per address)", () => {
  let fx: Fixture;
  before(async () => {
    for (const tool of ["tftp", "ip"]) requireTool(tool);
    fx = await startFixture({ maxTransferMs: 3000, maxTransfersPerAddress: 1 });
    await addAddress(fx, SLOW_IP);
  });
  after(async () => {
    await fx?.close();
  });

  test(
    "a crawling transfer is ended at its lifetime and its slot freed",
    {
      timeout: 120_000,
    },
    async () => {
      // ACKs every 0.3 s at blksize 8: undionly.kpxe would take most of an hour.
      const slow = await readers(fx, SLOW_IP, 1, { options: [["blksize", "8"]], ackMs: 300 });
      try {
        let s = await slow.stats();
        while (s.holding > 0) {
          await new Promise((r) => setTimeout(r, 200));
          s = await slow.stats();
        }
        assert.deepEqual(s.ended, { "transfer took too long": 1 }, JSON.stringify(s));
        await untilIdle(fx);
        // The address's only slot is free: tftp-hpa from it gets the file.
        const r = await from(fx, SLOW_IP, () =>
          fx.net.inClient(
            "tftp",
            ["-m", "binary", fx.net.serverIp, "-c", "get", "undionly.kpxe", "after"],
            { cwd: fx.out, reject: false, all: true, timeout: 60_000 },
          ),
        );
        assert.doesNotMatch(String(r.all), /Error/);
        await sameAsServed(fx, "after");
      } finally {
        await slow.quit();
      }
    },
  );
});
