// Every printing command of the real CLI: --json is valid JSON on stdout, and
// each failure kind ends with its documented exit code (docs/CLI.md), against
// a real `automagic serve`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { BIN, REPO, cli, freePort, makeWorld, startServe } from "./serve-process.ts";

const parse = (text: string): unknown => JSON.parse(text);
const lines = (text: string): unknown[] => text.split("\n").filter(Boolean).map(parse);

test("cli: --json and exit codes of the control commands", async (t) => {
  const world = makeWorld();
  t.after(() => world.close());
  const port = await freePort();
  const s = await startServe(world, ["--http-port", String(port), "--no-tftp"]);
  t.after(() => s.stop());
  const env = { AUTOMAGIC_SERVER: s.url };
  const run = async (args: string[], code: number) => {
    const r = await cli(args, env);
    assert.equal(r.exitCode, code, `${args.join(" ")}: ${r.stderr}`);
    return r;
  };

  const armed = parse((await run(["next", "qemu-bios", "install", "--json"], 0)).stdout);
  assert.equal((armed as { state: string }).state, "armed:install");
  const all = parse((await run(["status", "--json"], 0)).stdout) as { host: string }[];
  assert.ok(all.some((h) => h.host === "qemu-bios"));
  assert.equal(
    (parse((await run(["status", "qemu-bios", "--json"], 0)).stdout) as { state: string }).state,
    "armed:install",
  );
  lines((await run(["events", "qemu-bios", "--json"], 0)).stdout);
  assert.ok("trace" in (parse((await run(["trace", "qemu-bios", "--json"], 0)).stdout) as object));
  assert.ok("_meta" in (parse((await run(["inventory", "--json"], 0)).stdout) as object));
  assert.ok(Array.isArray(parse((await run(["sysimgs", "--json"], 0)).stdout)));
  assert.ok(Array.isArray(parse((await run(["hosts", "discovered", "--json"], 0)).stdout)));

  // not found: an unknown host, an image the server does not hold
  await run(["status", "nosuch"], 3);
  await run(["next", "nosuch", "install"], 3);
  await run(["next", "qemu-bios", "deploy:nosuch"], 3);
  // no discover run has reported yet (#20)
  assert.match((await run(["inventory", "qemu-bios"], 3)).stderr, /next qemu-bios discover/);
  await run(["hosts", "draft", "52:54:00:00:00:99", "--json"], 3);
  // usage: nothing is sent
  await run(["next", "qemu-bios", "reinstall"], 2);
  await run(["next", "qemu-bios"], 2);
  await run(["no-such-command"], 2);
  await run(["status", "--no-such-option"], 2);
  // refused: wake needs a served interface (501)
  const woke = await run(["wake", "qemu-bios", "--json"], 4);
  assert.match(woke.stderr, /no served interface/);
  // a wrong token, no server
  await run(["status", "--admin-token", "not-the-token-at-all"], 6);
  const down = await run(["status", "--server", `http://127.0.0.1:${await freePort()}`], 5);
  assert.match(down.stderr, /is `automagic serve` running\?/);
  assert.equal((await run(["--help"], 0)).stdout.includes("Usage: automagic"), true);
});

test("cli: --json and exit codes of the offline commands", async (t) => {
  const world = makeWorld();
  t.after(() => world.close());
  const run = async (args: string[], code: number) => {
    const r = await cli(args, {});
    assert.equal(r.exitCode, code, `${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  const ok = parse((await run(["hosts", "validate", world.hostsDir, "--json"], 0)).stdout);
  assert.deepEqual((ok as { ok: boolean }).ok, true);
  assert.ok((ok as { hosts: string[] }).hosts.includes("qemu-bios"));
  const listed = lines((await run(["hosts", "list", world.hostsDir, "--json"], 0)).stdout);
  assert.ok(listed.some((h) => (h as { name: string }).name === "qemu-bios"));
  const spec = parse(
    (await run(["hosts", "render", "qemu-bios", "-d", world.hostsDir, "--json"], 0)).stdout,
  );
  assert.equal((spec as { host: string }).host, "qemu-bios");
  await run(["hosts", "render", "nosuch", "-d", world.hostsDir], 3);
  parse((await run(["hosts", "schema", "--json"], 0)).stdout);

  writeFileSync(join(world.hostsDir, "broken.yaml"), "version: 1\nmacs: [nope]\n");
  const bad = await run(["hosts", "validate", world.hostsDir, "--json"], 1);
  const doc = parse(bad.stdout) as { ok: boolean; problems: string[] };
  assert.equal(doc.ok, false);
  assert.ok(
    doc.problems.some((p) => p.includes("broken.yaml")),
    bad.stdout,
  );

  const up = join(world.dir, "empty-mirror");
  mkdirSync(up);
  const sync = [
    "mirror",
    "sync",
    "--json",
    "--upstream",
    up,
    "--variant",
    "openrc",
    "--cache-dir",
    join(world.dir, "cache"),
    "--keys-dir",
    join(world.dir, "keys"),
  ];
  const synced = parse((await run(sync, 1)).stdout) as { ok: boolean; total: number };
  assert.deepEqual([synced.ok, synced.total], [false, 2]);
  await run(["mirror", "sync"], 2);
  await run(["image", "build", "--keep", "0"], 2);
  await run(["completion", "fish"], 2);

  const etc = join(world.dir, "etc");
  const wrote = parse((await run(["init", etc, "--json"], 0)).stdout) as { wrote: string[] };
  assert.ok(wrote.wrote.includes(join(etc, "serve.yaml")), JSON.stringify(wrote));
  await run(["init", etc, "--json"], 4); // refused: never overwrites
});

test("cli: `source <(automagic completion bash)` completes a subcommand", async () => {
  const r = await execa(
    "bash",
    [
      "-c",
      `source <("$1" completion bash); COMP_WORDS=(automagic hosts val); COMP_CWORD=2; _automagic; echo "\${COMPREPLY[*]}"`,
      "t",
      BIN,
    ],
    { cwd: REPO },
  );
  assert.equal(r.stdout.trim(), "validate");
});
