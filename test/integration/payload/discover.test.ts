// discover (#20) end to end without a VM: the real `automagic serve` (full
// DHCP, commissioning on) in a test net, an unknown MAC netbooted by real
// clients (udhcpc, tftp, curl) gets a discover run, and the real payload runs
// it inside the client's namespace against loop disks: one with an old
// Gentoo root and a /home of files (found by its owners, not its name), one
// blank. Then: the stored inventory through the CLI, the draft host file
// validates as is, and not one byte of either disk changed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { requireTool } from "../../lib/tools.ts";
import { waitFor } from "../../lib/wait.ts";
import { sha256File } from "../../../shared/hash.ts";
import { withMount } from "./loopdisk.ts";
import { REPO } from "./run.ts";
import { LoopWorld } from "./world.ts";
import {
  BIOS_PXE,
  SERVER,
  curlIn,
  netboot,
  setMac,
  startNetbootBed,
  type NetbootBed,
} from "../control/netboot-client.ts";
import { cli } from "../control/serve-process.ts";

for (const t of [
  "losetup",
  "sgdisk",
  "mkfs.ext4",
  "mount",
  "partx",
  "unshare",
  "ip",
  "blkid",
  "lsblk",
])
  requireTool(t);

const MAC = "52:54:00:d1:5c:01";
let world: LoopWorld;
let bed: NetbootBed | undefined;

before(() => {
  world = new LoopWorld("am-discover");
});
after(async () => {
  await bed?.close();
  world.close();
});

/** GPT: BIOS boot, an old Gentoo root (partlabel gentoo-root), an unnamed /home of people's files. */
function systemDisk() {
  const dev = world.disk("system", "1200M", [
    { size: "+1M", type: "ef02" },
    { size: "+600M", name: "gentoo-root" },
    { size: "0", name: "data" },
  ]);
  execFileSync("mkfs.ext4", ["-F", "-q", `${dev}p2`]);
  execFileSync("mkfs.ext4", ["-F", "-q", `${dev}p3`]);
  withMount(`${dev}p2`, (m) => {
    mkdirSync(join(m, "etc"));
    writeFileSync(join(m, "etc/gentoo-release"), "Gentoo Base System release 2.17\n");
    writeFileSync(
      join(m, "etc/os-release"),
      'NAME=Gentoo\nID=gentoo\nPRETTY_NAME="Gentoo Linux"\n',
    );
    writeFileSync(
      join(m, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    );
  });
  withMount(`${dev}p3`, (m) => {
    for (const [user, uid] of [
      ["alice", 1000],
      ["bob", 1001],
    ] as const) {
      mkdirSync(join(m, user, "docs"), { recursive: true });
      for (let i = 0; i < 20; i++)
        writeFileSync(join(m, user, "docs", `f${i}.txt`), `${user} ${i}\n`);
      writeFileSync(join(m, user, ".profile"), "# profile\n");
      for (const p of ["", "docs"]) chownSync(join(m, user, p), uid, uid);
    }
  });
  return dev;
}

test("an unknown machine discovers: inventory stored, draft validates, no disk written", async () => {
  const system = systemDisk();
  const blank = world.disk("blank", "64M");
  const before = [await sha256File(system), await sha256File(blank)];
  bed = await startNetbootBed("am-disc", ["commission: { unknown: true, then: poweroff }"]);
  const { net, dir } = bed;
  await setMac(net, MAC);
  // "http: serving" is serve's ready signal; DHCP may bind a moment later.
  await waitFor("dhcp: serving", () => bed!.srv.log().includes("dhcp: serving"), {
    last: () => bed!.srv.log(),
  });
  const script = await netboot(net, dir, BIOS_PXE, MAC).catch((err: Error) => {
    throw new Error(`${err.message}\nserve's log:\n${bed!.srv.log()}`);
  });
  assert.match(script, /automagic\.action=discover/);
  const token = /automagic\.token=(\S+)/.exec(script)![1]!;

  // As the image's action script runs it, in the machine's namespace (its
  // NICs, its address), restricted to our loop disks; nothing powers off:
  // there is no automagic.url on this kernel's command line.
  const state = join(world.dir, "run");
  mkdirSync(state);
  const r = await execa(
    "ip",
    [
      "netns",
      "exec",
      net.client,
      "unshare",
      "--mount",
      "--propagation",
      "private",
      process.execPath,
      "--import",
      "tsx",
      join(REPO, "payload/main.ts"),
      "--action",
      "discover",
      "--server",
      SERVER,
      "--token",
      token,
      "--devices",
      `${system},${blank}`,
      "--state-dir",
      state,
    ],
    { cwd: REPO, reject: false, timeout: 300_000 },
  );
  assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /inventory stored: bios/);

  const env = { AUTOMAGIC_SERVER: "http://127.0.0.1:8080" };
  const got = await cli(["inventory", MAC, "--json"], env, net.server);
  assert.equal(got.exitCode, 0, got.stderr);
  const stored = JSON.parse(got.stdout);
  const inv = stored.inventory;
  assert.equal(inv.firmware.mode, "bios");
  assert.ok(inv.cpu.count >= 1 && inv.memory.totalBytes > 0);
  assert.deepEqual(
    inv.disks.map((d: { path: string }) => d.path),
    [system, blank],
  );
  const parts = inv.disks[0].partitions;
  assert.equal(parts[1].role, "gentoo-root");
  assert.equal(parts[1].os, "Gentoo Linux");
  assert.equal(parts[2].role, "home", "found by its owners' directories");
  assert.equal(parts[2].files, 42);
  assert.deepEqual(parts[2].owners, [
    { name: "alice", uid: 1000 },
    { name: "bob", uid: 1001 },
  ]);
  assert.deepEqual(inv.disks[1].partitions, []);
  const nic = inv.nics.find((n: { mac: string }) => n.mac === MAC);
  assert.equal(nic?.netboot, true, JSON.stringify(inv.nics));
  assert.equal(nic?.link, "up");
  assert.equal(nic?.driver, undefined, "a veth has no device (and so no device/driver) behind it");
  // the run is done: the next netboot of this MAC boots its disk
  // (iPXE asking again with the address it already leased)
  const again = await curlIn(net, `${SERVER}/boot.ipxe?mac=${MAC}&arch=i386`);
  assert.match(again, /-> local \(run \d+ \(discover\) done\)/);
  const text = await cli(["inventory", MAC], env, net.server);
  assert.match(text.stdout, /looks like home, 42 files/);

  const draft = await cli(["hosts", "draft", MAC], env, net.server);
  assert.equal(draft.exitCode, 0, draft.stderr);
  assert.match(draft.stdout, /mode: keep\n {2}root: \{ partlabel: "gentoo-root" \}/);
  const hosts = join(world.dir, "hosts");
  mkdirSync(hosts);
  writeFileSync(join(hosts, "defaults.yaml"), readFileSync(join(REPO, "hosts/defaults.yaml")));
  writeFileSync(join(hosts, "new-d15c01.yaml"), draft.stdout);
  const valid = await execa(join(REPO, "bin/automagic"), ["hosts", "validate", hosts], {
    reject: false,
  });
  assert.equal(valid.exitCode, 0, `${valid.stdout}${valid.stderr}\n${draft.stdout}`);

  assert.deepEqual(
    [await sha256File(system), await sha256File(blank)],
    before,
    "no disk was written",
  );
});
