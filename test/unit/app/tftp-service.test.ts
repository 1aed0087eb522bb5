// TFTP as serve runs it: a taken port leaves TFTP down (with the bind
// error) and retried, not serve stopped; stopped TFTP is down too.
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startTftpService } from "../../../server/app/tftp-service.ts";
import { waitFor } from "../../lib/wait.ts";

test("tftp service: down while the port is taken, up once it is free, down when stopped", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "am-tftp-svc-"));
  const blocker = dgram.createSocket("udp4");
  await new Promise<void>((r) => blocker.bind(0, "127.0.0.1", () => r()));
  const port = blocker.address().port;
  const log = pino({ level: "silent" });
  const svc = await startTftpService({ root, address: "127.0.0.1", port }, {}, log, 50);
  t.after(async () => {
    await svc.close();
    rmSync(root, { recursive: true, force: true });
  });
  const down = svc.check();
  assert.equal(down.state, "down");
  assert.equal(down.needed, true);
  assert.match(down.detail!, new RegExp(`^cannot bind 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  assert.equal(svc.stats(), undefined);
  await new Promise<void>((r) => blocker.close(() => r()));
  await waitFor("tftp up once the port is free", () => svc.check().state === "up");
  assert.deepEqual(svc.check(), {
    name: "tftp",
    state: "up",
    needed: true,
    detail: `port ${port}`,
  });
  assert.equal(svc.stats()?.transfers, 0);
  await svc.close();
  assert.deepEqual(svc.check(), { name: "tftp", state: "down", needed: true, detail: "stopped" });
});

test("tftp service: an error other than binding still stops the start", async () => {
  await assert.rejects(
    startTftpService(
      { root: "/nonexistent/ipxe", address: "127.0.0.1", port: 0 },
      {},
      pino({ level: "silent" }),
    ),
    /tftp: root \/nonexistent\/ipxe does not exist/,
  );
});
