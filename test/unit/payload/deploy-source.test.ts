// deploy from the machine's own /home (#15): the copy's sha256 is checked
// before anything is paved; a corrupted copy falls back to the server's, or
// fails naming both when the server has none. Real files, a runner that
// records mount/umount, a fake server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchSysimg } from "../../../payload/steps/sysimg.ts";
import { HOME_SYSIMGS } from "../../../payload/sysimg/home.ts";
import { sha256 } from "../../../shared/hash.ts";
import type { RunContext } from "../../../payload/run/context.ts";
import type { Step } from "../../../payload/plan/types.ts";

type Action = Extract<Step["action"], { kind: "fetch-sysimg" }>;
const NAME = "ws1-20260101T000000Z";
const STEP = { id: "fetch-sysimg" } as Step;
const GOOD = Buffer.from("the image bytes");

function setup(t: { after: (fn: () => void) => void }, onHome: Buffer) {
  const dir = mkdtempSync(join(tmpdir(), "am-deploy-src-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const staging = join(dir, "staging");
  // What the mount would show: the /home filesystem with its sysimgs folder.
  const homeMount = `${staging}-sysimg-home`;
  mkdirSync(join(homeMount, HOME_SYSIMGS), { recursive: true });
  writeFileSync(join(homeMount, HOME_SYSIMGS, `${NAME}.tar.zst`), onHome);
  const commands: string[] = [];
  const logs: string[] = [];
  const fetched: string[] = [];
  const ctx = {
    runner: {
      run: async (argv: string[]) => {
        commands.push(argv.join(" "));
        return { stdout: "", stderr: "", exitCode: 0 };
      },
    },
    reporter: { progress: () => undefined },
    server: "http://server",
    token: "tok",
    fetch: async (url: string) => {
      fetched.push(url);
      return new Response(GOOD, {
        headers: { "x-automagic-sha256": sha256(GOOD), "content-length": String(GOOD.length) },
      });
    },
    step: "fetch-sysimg",
    log: (l: string) => logs.push(l),
    probe: { disks: [] },
  } as unknown as RunContext;
  const action = (server: boolean): Action => ({
    kind: "fetch-sysimg",
    image: NAME,
    staging: { where: "ram", dir: staging, reason: "test" } as Action["staging"],
    home: { device: "/dev/vdb1", fstype: "ext4", sha256: sha256(GOOD), bytes: GOOD.length },
    ...(server ? { server: { sha256: sha256(GOOD), bytes: GOOD.length } } : {}),
  });
  return { ctx, action, commands, logs, fetched, homeMount };
}

test("a good /home copy is used read-only (no journal replay) and the server is not asked", async (t) => {
  const s = setup(t, GOOD);
  await fetchSysimg(s.action(true), s.ctx, STEP);
  assert.deepEqual(s.commands, [`mount -o ro,noload /dev/vdb1 ${s.homeMount}`]);
  assert.deepEqual(s.fetched, []);
  assert.match(
    s.logs.join("\n"),
    new RegExp(`system image ${NAME} on /dev/vdb1: 15 bytes, sha256 ${sha256(GOOD)} ok`),
  );
  assert.equal(s.ctx.staged?.stage3, join(s.homeMount, HOME_SYSIMGS, `${NAME}.tar.zst`));
  await s.ctx.staged!.cleanup();
  await s.ctx.staged!.cleanup();
  assert.equal(s.commands.filter((c) => c.startsWith("umount")).length, 1, "unmounted once");
});

test("one flipped byte: refused before paving, the server's copy is fetched instead", async (t) => {
  const bad = Buffer.from(GOOD);
  bad[0] = bad[0]! ^ 1;
  const s = setup(t, bad);
  await fetchSysimg(s.action(true), s.ctx, STEP);
  assert.match(
    s.logs.join("\n"),
    /the copy of ws1-\S+ on \/dev\/vdb1 is corrupted: sha256 [0-9a-f]{64}, captured as [0-9a-f]{64}; fetching the server's copy instead/,
  );
  assert.deepEqual(s.fetched, [`http://server/api/v1/run/tok/sysimg?name=${NAME}`]);
  assert.ok(s.commands.includes(`umount ${s.homeMount}`), "/home unmounted before the fallback");
  assert.notEqual(s.ctx.staged?.stage3, join(s.homeMount, HOME_SYSIMGS, `${NAME}.tar.zst`));
});

test("one flipped byte and no server copy: fails naming both", async (t) => {
  const bad = Buffer.from(GOOD);
  bad[3] = bad[3]! ^ 1;
  const s = setup(t, bad);
  await assert.rejects(
    fetchSysimg(s.action(false), s.ctx, STEP),
    /the copy of ws1-\S+ on \/dev\/vdb1 is corrupted: .*; the server has no copy of ws1-\S+: nothing was paved/,
  );
  assert.deepEqual(s.fetched, []);
  assert.equal(s.ctx.staged, undefined);
});

test("a live run (layout ab, from the running slot): the image is read where /home is mounted, nothing is mounted or unmounted", async (t) => {
  const s = setup(t, GOOD);
  // The running system has /dev/vdb1 mounted read-write; a read-only second mount would be EBUSY.
  (s.ctx as { probe: unknown }).probe = {
    disks: [
      {
        path: "/dev/vdb",
        mountpoints: [],
        partitions: [{ path: "/dev/vdb1", mountpoints: [s.homeMount] }],
      },
    ],
  };
  await fetchSysimg(s.action(true), s.ctx, STEP);
  assert.deepEqual(s.commands, []);
  assert.deepEqual(s.fetched, []);
  assert.equal(s.ctx.staged?.stage3, join(s.homeMount, HOME_SYSIMGS, `${NAME}.tar.zst`));
  await s.ctx.staged!.cleanup();
  assert.deepEqual(s.commands, [], "the running system's /home stays mounted");
});
