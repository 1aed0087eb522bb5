// capture to the machine's own /home (#15), the real payload against a loop
// disk: a /home too small is refused naming both sizes and nothing is
// written on it; with room, the archive and its record land in
// /home/data/sysimgs atomically (what an interrupted capture left is
// removed, sysimgs.keep drops the oldest), the root is not written, and the
// rest of /home is byte-identical.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { requireTool } from "../../lib/tools.ts";
import { sha256File } from "../../../shared/hash.ts";
import { manifest, withMount } from "./loopdisk.ts";
import { runPayload } from "./run.ts";
import { startServer, type TestServer } from "./server.ts";
import { LoopWorld } from "./world.ts";
import { ROOT_FS_LABEL } from "../../../payload/plan/groups/disk.ts";

for (const t of ["losetup", "sgdisk", "mkfs.ext4", "mount", "partx", "unshare", "tar", "zstd"])
  requireTool(t);

const TOKEN = "tok-capture-home";
const NAME = "cap1-20261207T120000Z";
let world: LoopWorld;

before(() => {
  world = new LoopWorld("am-cap");
});
after(() => world.close());

/** A system disk: BIOS boot, a root labelled as automagic labels it (with 40 MB of data), a /home of `homeMiB`. */
function makeDisk(name: string, homeMiB: number) {
  const dev = world.disk(name, `${4200 + homeMiB + 4}M`, [
    { size: "+1M", type: "ef02" },
    { size: "+4200M", name: "root" },
    { size: `+${homeMiB}M`, name: "home" },
  ]);
  const root = `${dev}p2`;
  const home = `${dev}p3`;
  execFileSync("mkfs.ext4", ["-F", "-q", "-L", ROOT_FS_LABEL, root]);
  execFileSync("mkfs.ext4", ["-F", "-q", "-L", "home", home]);
  withMount(root, (m) => {
    mkdirSync(join(m, "etc"));
    writeFileSync(join(m, "etc/hostname"), "cap1\n");
    writeFileSync(join(m, "data.bin"), randomBytes(40 * 2 ** 20));
  });
  withMount(home, (m) => {
    mkdirSync(join(m, "alice"));
    writeFileSync(join(m, "alice/notes.txt"), "alice's notes\n");
  });
  return { dev, root, home };
}

function spec(srv: TestServer, keep?: number) {
  return {
    version: 1,
    host: "cap1",
    hostname: "cap1",
    macs: ["52:54:00:00:00:09"],
    firmware: "bios",
    disk: { minBytes: 2 ** 20 },
    layout: { mode: "keep", root: { partlabel: "root" } },
    home: { ref: { label: "home" }, fs: "ext4" },
    rootfs: "ext4",
    init: "openrc",
    stage3: { variant: "openrc", mirror: srv.mirrorUrl, trustedKeys: ["A".repeat(40)] },
    portage: { profile: "default/linux/amd64/23.0", binhost: false },
    locale: { locales: ["en_US.UTF-8 UTF-8"], lang: "en_US.UTF-8" },
    timezone: "UTC",
    keymap: "us",
    network: { mode: "dhcp" },
    users: [],
    keepSshHostKeys: false,
    kernel: { linuxFirmware: false, intelMicrocode: false },
    services: {},
    overlay: { present: false },
    postInstall: {},
    sysimgs: keep ? { keep } : {},
    run: { capture: { name: NAME, to: ["home"], ramImage: "img-test" } },
  };
}

async function capture(diskDev: string, keep?: number, action = "capture", run?: unknown) {
  const srv = await startServer({
    upstream: world.dir,
    cacheDir: join(world.dir, "cache"),
    keysDir: world.dir,
    fpr: "A".repeat(40),
    token: TOKEN,
  });
  srv.spec = { ...spec(srv, keep), ...(run ? { run } : {}) };
  try {
    const r = await runPayload({
      srv,
      token: TOKEN,
      devices: [diskDev],
      target: join(world.dir, "target"),
      stateDir: join(world.dir, "state"),
      action,
    });
    return { r, events: srv.events };
  } finally {
    await srv.close();
  }
}

test("a /home too small is refused naming both sizes; nothing is written on it", async () => {
  const d = makeDisk("small", 16);
  const before = withMount(d.home, manifest, true);
  const rootBefore = execFileSync("sha256sum", [d.root]).toString();
  const { r, events } = await capture(d.dev);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  const fail = events.find((e) => e.kind === "step-fail");
  assert.equal(fail?.step, "room");
  assert.match(
    fail?.message ?? "",
    /^refused: \/home \(\/dev\/loop\d+p3\) has \d+ MiB free; the image needs up to \d+ MiB \(the root's used bytes\); nothing was written$/,
  );
  assert.equal(withMount(d.home, manifest, true), before, "nothing on /home changed");
  assert.equal(
    execFileSync("sha256sum", [d.root]).toString(),
    rootBefore,
    "the root is not written",
  );
});

let roomy: ReturnType<typeof makeDisk> | undefined;

test("with room: archive and record in /home/data/sysimgs, leftovers removed, keep 1 drops the older one, the rest of /home intact", async () => {
  const d = makeDisk("roomy", 200);
  roomy = d;
  // An older image, and what an interrupted capture left.
  withMount(d.home, (m) => {
    const dir = join(m, "data/sysimgs");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cap1-20260101T000000Z.tar.zst"), "old");
    writeFileSync(
      join(dir, "cap1-20260101T000000Z.json"),
      JSON.stringify({
        name: "cap1-20260101T000000Z",
        host: "cap1",
        bytes: 3,
        sha256: "0".repeat(64),
        created: "2026-01-01T00:00:00.000Z",
      }),
    );
    writeFileSync(join(dir, "cap1-x.tar.zst.partial"), "half");
  });
  const before = withMount(d.home, manifest, true);
  const { r, events } = await capture(d.dev, 1);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const done = events.find((e) => e.kind === "run-done");
  assert.ok(done, JSON.stringify(events.slice(-3)));
  const sum = done.summary as { image: string; sha256: string; bytes: number; home: string[] };
  assert.equal(sum.image, NAME);
  assert.deepEqual(sum.home, [NAME]);
  withMount(
    d.home,
    (m) => {
      const dir = join(m, "data/sysimgs");
      assert.deepEqual(readdirSync(dir).sort(), [`${NAME}.json`, `${NAME}.tar.zst`]);
      const meta = JSON.parse(readFileSync(join(dir, `${NAME}.json`), "utf8"));
      assert.equal(meta.sha256, sum.sha256);
      assert.equal(meta.bytes, sum.bytes);
      assert.equal(meta.host, "cap1");
      assert.equal(meta.ramImage, "img-test");
      const listed = execFileSync("sh", [
        "-c",
        `zstd -dc '${join(dir, `${NAME}.tar.zst`)}' | tar -xOf - ./etc/hostname`,
      ]).toString();
      assert.equal(listed, "cap1\n");
    },
    true,
  );
  // sha256 of the file as stored equals the record's (read back through the loop device).
  const file = join(world.dir, "check", `${NAME}.tar.zst`);
  mkdirSync(join(world.dir, "check"), { recursive: true });
  withMount(
    d.home,
    (m) => execFileSync("cp", [join(m, "data/sysimgs", `${NAME}.tar.zst`), file]),
    true,
  );
  assert.equal(await sha256File(file), sum.sha256);
  const after = withMount(d.home, manifest, true);
  const outside = (t: string) =>
    t
      .split("\n")
      .filter((l) => !/(^|\s)\.?\/?data(\/|\s|$)/.test(l))
      .join("\n");
  assert.equal(outside(after), outside(before), "nothing outside data/sysimgs changed");
});

test("deploy:latest finds that image on /home, checks its sha256, paves the root from it and releases /home before mount-home", async () => {
  const d = roomy;
  assert.ok(d, "the capture test made the disk");
  withMount(d.root, (m) => rmSync(join(m, "etc/hostname")));
  const { events } = await capture(d.dev, undefined, "deploy:latest", {
    deploy: { image: "latest", server: [] },
  });
  const ended = events.filter((e) => e.kind === "step-end").map((e) => e.step);
  const failed = events.filter((e) => e.kind === "step-fail").map((e) => `${e.step}: ${e.message}`);
  for (const step of ["fetch-sysimg", "format-root", "mount-root", "extract-sysimg", "mount-home"])
    assert.ok(
      ended.includes(step),
      `${step} done (ended: ${ended.join(" ")}; failed: ${failed.join("; ")})`,
    );
  assert.ok(
    events.some((e) =>
      /^system image cap1-\S+ on \/dev\/loop\d+p3: \d+ bytes, sha256 [0-9a-f]{64} ok$/.test(
        e.message ?? "",
      ),
    ),
    "the image came from /home",
  );
  // The image is a toy root (no Gentoo in it): the configure steps that chroot
  // into it cannot run. What matters here is that the root is the image's.
  withMount(
    d.root,
    (m) => assert.equal(readFileSync(join(m, "etc/hostname"), "utf8"), "cap1\n"),
    true,
  );
});
