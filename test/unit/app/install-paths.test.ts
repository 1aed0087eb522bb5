// Installed like a service: /etc/automagic and /var/lib/automagic by default
// (under AUTOMAGIC_ROOT for tests), config-relative paths, `automagic init`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  configFileFor,
  installPaths,
  loadServeConfig,
  parseServeConfig,
} from "../../../server/app/config.ts";
import { writeStarter } from "../../../server/cli/commands/init.ts";
import { loadHostRegistry } from "../../../server/hosts/index.ts";

function tempRoot(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "am-install-"));
  const before = process.env.AUTOMAGIC_ROOT;
  process.env.AUTOMAGIC_ROOT = dir;
  t.after(() => {
    if (before === undefined) delete process.env.AUTOMAGIC_ROOT;
    else process.env.AUTOMAGIC_ROOT = before;
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

test("defaults: /etc/automagic and /var/lib/automagic, moved whole by AUTOMAGIC_ROOT", (t) => {
  assert.deepEqual(installPaths({}), {
    etc: "/etc/automagic",
    configFile: "/etc/automagic/serve.yaml",
    hostsDir: "/etc/automagic/hosts",
    state: "/var/lib/automagic",
  });
  const root = tempRoot(t);
  const cfg = parseServeConfig({}, "s");
  assert.equal(cfg.hostsDir, join(root, "etc/automagic/hosts"));
  assert.equal(cfg.stateDir, join(root, "var/lib/automagic"));
  assert.equal(cfg.imagesDir, join(root, "var/lib/automagic/images"));
  assert.equal(cfg.mirror.keysDir, join(root, "etc/automagic/mirror-keys"));
  assert.equal(cfg.mirror.cacheDir, undefined, "serve puts it in <stateDir>/mirror-cache");
  assert.equal(configFileFor(undefined), undefined, "no serve.yaml there: defaults and flags");
  assert.equal(configFileFor("x.yaml"), "x.yaml");
  mkdirSync(join(root, "etc/automagic"), { recursive: true });
  writeFileSync(join(root, "etc/automagic/serve.yaml"), "listen: 10.0.0.1\n");
  assert.equal(configFileFor(undefined), join(root, "etc/automagic/serve.yaml"));
});

test("relative paths: a file's from its folder, flags' from the cwd, URLs untouched", (t) => {
  const root = tempRoot(t);
  const file = join(root, "conf/serve.yaml");
  mkdirSync(join(root, "conf"));
  writeFileSync(
    file,
    [
      "hostsDir: hosts",
      "stateDir: ../state",
      "ipxeDir: /usr/lib/ipxe",
      "mirror: { upstream: https://distfiles.gentoo.org, binhostUpstream: bin, keysDir: keys }",
      "",
    ].join("\n"),
  );
  const cfg = loadServeConfig(file, { imagesDir: "imgs" });
  assert.equal(cfg.hostsDir, join(root, "conf/hosts"));
  assert.equal(cfg.stateDir, join(root, "state"));
  assert.equal(cfg.ipxeDir, "/usr/lib/ipxe");
  assert.equal(cfg.imagesDir, join(process.cwd(), "imgs"));
  assert.equal(cfg.mirror.upstream, "https://distfiles.gentoo.org");
  assert.equal(cfg.mirror.binhostUpstream, join(root, "conf/bin"));
  assert.equal(cfg.mirror.keysDir, join(root, "conf/keys"));
  const flagWins = loadServeConfig(file, { hostsDir: "/srv/hosts", mirror: { keysDir: "k" } });
  assert.equal(flagWins.hostsDir, "/srv/hosts");
  assert.equal(flagWins.mirror.keysDir, join(process.cwd(), "k"));
  assert.equal(flagWins.mirror.upstream, "https://distfiles.gentoo.org", "objects still merge");
});

test("init: a starter that validates and serves; never overwrites", async (t) => {
  const root = tempRoot(t);
  const dir = join(root, "etc/automagic");
  const written = writeStarter(dir);
  assert.deepEqual(
    written.map((f) => f.slice(dir.length + 1)),
    ["serve.yaml", "hosts/defaults.yaml", "hosts/example.yaml", "hosts/host.schema.json"],
  );
  const cfg = loadServeConfig(configFileFor(undefined), {});
  assert.equal(cfg.hostsDir, join(dir, "hosts"));
  assert.equal(cfg.dhcp.mode, "off");
  const reg = await loadHostRegistry(cfg.hostsDir);
  assert.deepEqual(
    reg.hosts.map((h) => h.name),
    ["example"],
  );

  writeFileSync(join(dir, "hosts/example.yaml"), "# mine\n");
  rmSync(join(dir, "serve.yaml"));
  assert.throws(() => writeStarter(dir), /hosts\/defaults\.yaml, .*already there; nothing written/);
  assert.equal(readFileSync(join(dir, "hosts/example.yaml"), "utf8"), "# mine\n");
  assert.throws(() => readFileSync(join(dir, "serve.yaml")), /ENOENT/, "nothing written at all");
});
