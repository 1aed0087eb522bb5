// contrib/ansible's playbook run by Debian's ansible-core against a real
// `automagic serve` on loopback: its inventory script lists the hosts, each
// host is reinstalled through `automagic reinstall --via netboot --wait
// --json` on the control node, and the machines are played over HTTP by the
// shared fake machine (boot script with the token, spec, events, phase 2).
// Each machine waits for its own host to be armed and runs at once, so only
// the playbook's `serial: 1` keeps the runs apart; the server's run records
// show whether it did.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { FakeMachine } from "../../lib/fake-machine.ts";
import { requireTool } from "../../lib/tools.ts";
import {
  allowBootFrom,
  freePort,
  makeWorld,
  REPO,
  startServe,
  type Served,
  type World,
} from "../control/serve-process.ts";

const PLAYBOOK = join(REPO, "contrib/ansible/reinstall.yml");
const INVENTORY = join(REPO, "contrib/ansible/inventory.sh");
/** Group `qemu` of the example hosts, in inventory order. */
const HOSTS = [
  { name: "qemu-bios", mac: "52:54:00:a0:00:01" },
  { name: "qemu-uefi", mac: "52:54:00:a0:00:02" },
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Bed {
  world: World;
  srv: Served;
  token: string;
}

/** One server for both plays (each CLI start costs seconds here); the second reads only its own runs. */
let bed: Bed;
before(async () => {
  const world = makeWorld();
  try {
    bed = await startBed(world);
  } catch (err) {
    world.close();
    throw err;
  }
});
after(async () => {
  await bed?.srv.stop();
  bed?.world.close();
});

async function startBed(world: World): Promise<Bed> {
  // The machines are played from loopback: the server lets 127.0.0.1 fetch their scripts.
  for (const h of HOSTS) allowBootFrom(world, h.name);
  const token = randomBytes(24).toString("hex");
  const cfg = join(world.dir, "serve.yaml");
  writeFileSync(
    cfg,
    [
      "listen: 127.0.0.1",
      `http: { port: ${await freePort()} }`,
      "tftp: { enabled: false }",
      `adminToken: ${token}`,
      "",
    ].join("\n"),
  );
  return { world, srv: await startServe(world, ["--config", cfg]), token };
}

async function hostState(bed: Bed, host: string): Promise<string> {
  const r = await fetch(`${bed.srv.url}/api/v1/admin/hosts/${host}`, {
    headers: { authorization: `Bearer ${bed.token}` },
  });
  const body = await r.text();
  assert.equal(r.status, 200, body);
  return (JSON.parse(body) as { state: string }).state;
}

type Script = (m: FakeMachine) => Promise<void>;

/** A good install: phase 1, the reboot, phase 2; about a second of work. */
const installs: Script = async (m) => {
  await m.send({ kind: "run-start" }, { kind: "step-start", step: "partition" });
  await sleep(400);
  await m.send({ kind: "step-end", step: "partition" }, { kind: "phase-done" });
  await m.phase2();
  await m.send({ kind: "run-start" }, { kind: "step-start", step: "packages" });
  await sleep(400);
  await m.send({ kind: "step-end", step: "packages" }, { kind: "run-done" });
};

const FAILURE = "no disk with serial QEMU-BIOS-DISK (found: vda 20 GB QEMU-OTHER)";
const failsProbe: Script = async (m) => {
  await m.send({ kind: "run-start" }, { kind: "step-start", step: "probe" });
  await sleep(200);
  await m.send({ kind: "step-fail", step: "probe", message: FAILURE });
};

/**
 * The machine of `host`: powers on (boots) as soon as its host is armed,
 * and runs `script`. Resolves false when it was never armed before `over()`.
 */
async function machine(bed: Bed, i: number, script: Script, over: () => boolean) {
  const { name, mac } = HOSTS[i]!;
  while ((await hostState(bed, name)) !== "armed:install") {
    if (over()) return false;
    await sleep(250);
  }
  const m = new FakeMachine(bed.srv, mac);
  await m.boot();
  await script(m);
  return true;
}

/** ansible-playbook with the machines playing along; the play's result and theirs. */
async function play(bed: Bed, scripts: Script[]) {
  requireTool("ansible-playbook");
  const tmp = mkdtempSync(join(bed.world.dir, "ansible-"));
  let over = false;
  const run = execa(
    "ansible-playbook",
    ["-i", INVENTORY, PLAYBOOK, "-e", "automagic_hosts=qemu", "-e", "automagic_timeout=120"],
    {
      reject: false,
      all: true,
      cwd: bed.world.dir, // no ansible.cfg of the checkout's
      // Generous: every CLI start (inventory, each reinstall) takes seconds, more under load.
      timeout: 180_000,
      env: {
        // `automagic` on PATH is this checkout's CLI (inventory.sh and the role call it by name).
        PATH: `${join(REPO, "bin")}:${process.env.PATH ?? ""}`,
        AUTOMAGIC_SERVER: bed.srv.url,
        AUTOMAGIC_ADMIN_TOKEN: bed.token,
        ANSIBLE_NOCOLOR: "1",
        ANSIBLE_HOME: tmp,
        ANSIBLE_LOCAL_TEMP: tmp,
      },
    },
  );
  void run.finally(() => (over = true));
  const machines = Promise.all(scripts.map((s, i) => machine(bed, i, s, () => over)));
  machines.catch(() => run.kill()); // a machine that broke ends the play (the error is thrown below)
  const [r, booted] = await Promise.all([run, machines]);
  return { rc: r.exitCode, out: String(r.all ?? ""), booted };
}

interface RunRow {
  id: number;
  host: string;
  status: string;
  failure: string | null;
  started_at: number;
  ended_at: number | null;
}

/** The server's run records after run `afterId`. */
function runs(afterId = 0): RunRow[] {
  const db = new Database(join(bed.world.stateDir, "automagic.sqlite"), { readonly: true });
  try {
    return db
      .prepare(
        "SELECT id, host, status, failure, started_at, ended_at FROM runs WHERE id > ? ORDER BY id",
      )
      .all(afterId) as RunRow[];
  } finally {
    db.close();
  }
}

test("ansible: the playbook and its role pass ansible-playbook --syntax-check", async () => {
  requireTool("ansible-playbook");
  const r = await execa("ansible-playbook", ["--syntax-check", "-i", "localhost,", PLAYBOOK], {
    reject: false,
    all: true,
    env: { ANSIBLE_NOCOLOR: "1" },
  });
  assert.equal(r.exitCode, 0, String(r.all));
  assert.match(String(r.all), /playbook: .*reinstall\.yml/);
});

test("ansible: without automagic_hosts the playbook stops before any host", async () => {
  const r = await execa("ansible-playbook", ["-i", "localhost,", PLAYBOOK], {
    reject: false,
    all: true,
    env: { ANSIBLE_NOCOLOR: "1", PATH: "/usr/bin:/bin" }, // no automagic to call
  });
  assert.notEqual(r.exitCode, 0, String(r.all));
  assert.match(String(r.all), /set automagic_hosts to a host, group or pattern/);
  assert.doesNotMatch(String(r.all), /Reinstall with automagic/);
});

test("ansible: the playbook reinstalls a group one host after the other", async () => {
  const r = await play(bed, [installs, installs]);
  assert.equal(r.rc, 0, r.out);
  assert.deepEqual(r.booted, [true, true]);
  assert.match(r.out, /changed: \[qemu-bios -> localhost\]/);
  assert.match(r.out, /changed: \[qemu-uefi -> localhost\]/);
  assert.match(r.out, /qemu-bios\s+: ok=\d+\s+changed=1\s+unreachable=0\s+failed=0/);
  assert.match(r.out, /qemu-uefi\s+: ok=\d+\s+changed=1\s+unreachable=0\s+failed=0/);

  const [first, second, ...more] = runs();
  assert.deepEqual(more, []);
  assert.deepEqual(
    [first, second].map((x) => [x?.host, x?.status]),
    [
      ["qemu-bios", "done"],
      ["qemu-uefi", "done"],
    ],
  );
  assert.ok(first!.ended_at, "the first run ended");
  assert.ok(
    second!.started_at >= first!.ended_at!,
    `run 2 started ${second!.started_at - first!.ended_at!} ms after run 1 ended`,
  );
  for (const h of HOSTS) assert.equal(await hostState(bed, h.name), "local");
});

test("ansible: a failed run fails the play with its reason; the next host is not reinstalled", async () => {
  const last = runs().at(-1)?.id ?? 0;
  const r = await play(bed, [failsProbe, installs]);
  assert.notEqual(r.rc, 0, r.out);
  assert.deepEqual(r.booted, [true, false], "qemu-uefi was never armed");
  assert.match(r.out, /fatal: \[qemu-bios\]: FAILED!/);
  assert.ok(r.out.includes(`step probe: ${FAILURE}`), r.out);
  assert.match(r.out, /qemu-bios\s+: .*failed=1/);
  assert.doesNotMatch(r.out, /\[qemu-uefi/);

  const all = runs(last);
  assert.deepEqual(
    all.map((x) => [x.host, x.status]),
    [["qemu-bios", "failed"]],
  );
  assert.match(all[0]!.failure ?? "", /no disk with serial QEMU-BIOS-DISK/);
  assert.equal(await hostState(bed, "qemu-uefi"), "local");
});
