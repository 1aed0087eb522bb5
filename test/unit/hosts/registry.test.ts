// The pure builder and the public API, driven with literal files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GENTOO_RELEASE_KEY, installSpecSchema } from "../../../payload/spec/schema.ts";
import { buildHosts, type SourceFile } from "../../../server/hosts/registry.ts";
import {
  HostFileError,
  loadHostRegistry,
  redactSpec,
  REDACTED,
  resolveInstallSpec,
} from "../../../server/hosts/index.ts";

const HASH = "$6$salt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
const DEFAULTS = `
firmware: bios
disk: { serial: SYS }
layout: { mode: keep, root: { partlabel: root } }
home: { ref: { label: home }, fs: ext4 }
rootfs: ext4
init: openrc
portage: { profile: default/linux/amd64/23.0, makeConf: { A: "1" } }
kernel: { linuxFirmware: false, intelMicrocode: false }
locale: { locales: ["en_US.UTF-8 UTF-8"], lang: en_US.UTF-8 }
timezone: UTC
keymap: us
network: { mode: dhcp }
packages: [app-editors/vim]
`;
const src = (name: string, text: string): SourceFile => ({
  name,
  file: `hosts/${name}.yaml`,
  text,
});

test("defaults, then extends in order, then the host", () => {
  const r = buildHosts([
    src("defaults", DEFAULTS),
    src("_lab", "keymap: de\npackages: [app-misc/tmux]\n"),
    src("_berlin", "keymap: de-latin1\ntimezone: Europe/Berlin\n"),
    src(
      "web1",
      'extends: [_lab, _berlin]\nmacs: ["52-54-00-00-00-0A"]\nportage: { makeConf: { B: "2" } }\n',
    ),
  ]);
  assert.deepEqual(r.errors, []);
  assert.equal(r.hosts.length, 1, "defaults and _partials are not hosts");
  const h = r.hosts[0]!.host;
  assert.deepEqual(h.macs, ["52:54:00:00:00:0a"]);
  assert.equal(h.keymap, "de-latin1");
  assert.equal(h.timezone, "Europe/Berlin");
  assert.deepEqual(h.packages, ["app-misc/tmux"]);
  assert.deepEqual(h.portage.makeConf, { A: "1", B: "2" });
});

test("a problem inherited from defaults is named once, in defaults.yaml", () => {
  const r = buildHosts([
    src("defaults", DEFAULTS.replace("keymap: us", "keymap: 7")),
    src("a", 'macs: ["52:54:00:00:00:01"]\n'),
    src("b", 'macs: ["52:54:00:00:00:02"]\n'),
  ]);
  assert.deepEqual(r.errors, ["hosts/defaults.yaml: keymap: expected string, received number"]);
});

test("secrets: references resolve from the secrets file", () => {
  const r = buildHosts(
    [
      src("defaults", DEFAULTS),
      src(
        "web1",
        'macs: ["52:54:00:00:00:01"]\nusers: [{ name: a, uid: 1000, gid: 1000, password: { secret: a } }]\n',
      ),
    ],
    { file: "/etc/automagic/secrets.yaml", text: `a: "${HASH}"\n` },
  );
  assert.deepEqual(r.errors, []);
  assert.equal(r.hosts[0]!.host.users![0]!.password, HASH);
});

test("a secret reference without a secrets file is an error naming the field", () => {
  const r = buildHosts([
    src("defaults", DEFAULTS),
    src(
      "w",
      'macs: ["52:54:00:00:00:01"]\nusers: [{ name: a, uid: 1, gid: 1, password: { secret: a } }]\n',
    ),
  ]);
  assert.deepEqual(r.errors, [
    'hosts/w.yaml: users[0].password.secret: "a" is not in the secrets file',
  ]);
});

test("postInstall.capture: false, true or { to: [home, server] }; an unknown store or a repeat is refused naming file and field", () => {
  const host = (capture: string) =>
    src(
      "w",
      `macs: ["52:54:00:00:00:01"]\npostInstall: { capture: ${capture} }\nsysimgs: { keep: 2 }\n`,
    );
  for (const ok of ["false", "true", "{ to: [home] }", "{ to: [home, server] }"])
    assert.deepEqual(buildHosts([src("defaults", DEFAULTS), host(ok)]).errors, [], ok);
  const errs = (c: string) => buildHosts([src("defaults", DEFAULTS), host(c)]).errors.join("\n");
  assert.match(errs("{ to: [usb] }"), /hosts\/w\.yaml: postInstall\.capture/);
  assert.match(
    errs("{ to: [home, home] }"),
    /hosts\/w\.yaml: postInstall\.capture.*each store once/,
  );
  assert.match(errs("{ to: [] }"), /at least one store/);
});

test("a plaintext password never appears in a message", () => {
  const r = buildHosts([
    src("defaults", DEFAULTS),
    src(
      "w",
      'macs: ["52:54:00:00:00:01"]\nusers: [{ name: a, uid: 1, gid: 1, password: "Tr0ub4dor&3" }]\n',
    ),
  ]);
  assert.equal(r.errors.length, 1);
  assert.doesNotMatch(r.errors[0]!, /Tr0ub4dor/);
});

test("a layout or network with another mode replaces the inherited one", () => {
  const r = buildHosts([
    src("defaults", DEFAULTS),
    src(
      "w",
      'macs: ["52:54:00:00:00:01"]\nlayout: { mode: create, wipe: { serial: SYS }, rootSize: 20G }\n' +
        "network: { mode: static, address: 10.1.2.3/24, gateway: 10.1.2.1 }\n",
    ),
  ]);
  assert.deepEqual(r.errors, []);
  const h = r.hosts[0]!.host;
  assert.deepEqual(h.layout, { mode: "create", wipe: { serial: "SYS" }, rootSize: 20 * 2 ** 30 });
});

test("loadHostRegistry: lookups, overlay folder, spec resolution and redaction", async () => {
  const dir = await mkdtemp(join(tmpdir(), "am-hosts-"));
  try {
    await writeFile(join(dir, "defaults.yaml"), DEFAULTS);
    await writeFile(
      join(dir, "web1.yaml"),
      `macs: ["52:54:00:00:00:01", "52:54:00:00:00:02"]\ninventory: { groups: [lab] }\n` +
        `users: [{ name: a, uid: 1000, gid: 1000, password: "${HASH}" }, { name: b, uid: 1001, gid: 1001, password: keep }]\n` +
        `portage: { makeConf: { PORTAGE_BINHOST: "https://bin.example/" } }\n`,
    );
    await writeFile(
      join(dir, "web2.yaml"),
      `macs: ["52:54:00:00:00:03"]\nstage3: { mirror: "http://m.example/g/" }\n`,
    );
    await mkdir(join(dir, "web1", "files", "etc"), { recursive: true });
    const reg = await loadHostRegistry(dir, { secretsFile: join(dir, "none.yaml") }).catch(
      (e: unknown) => e,
    );
    assert.ok(reg instanceof HostFileError, "an explicit secrets file that is missing is an error");
    assert.match(reg.messages[0]!, /none\.yaml: \(root\): cannot read the secrets file/);

    const ok = await loadHostRegistry(dir);
    assert.equal(ok.byMac("52-54-00-00-00-02")?.name, "web1");
    assert.equal(ok.byMac("5254.0000.0003")?.name, "web2");
    assert.equal(ok.byMac("52:54:00:00:00:09"), undefined);
    assert.equal(ok.byMac("nonsense"), undefined);
    assert.equal(ok.byName("web1")?.overlayDir, join(dir, "web1", "files"));
    assert.equal(ok.byName("web2")?.overlayDir, undefined);
    assert.deepEqual(ok.byName("web1")?.groups, ["lab"]);

    const ctx = { mirrorUrl: "http://10.0.0.1/mirror/", trustedKeys: [GENTOO_RELEASE_KEY] };
    const s1 = resolveInstallSpec(ok.byName("web1")!, ctx);
    assert.ok(installSpecSchema.safeParse(s1).success);
    assert.equal(s1.stage3.mirror, ctx.mirrorUrl);
    assert.equal(s1.stage3.variant, "openrc");
    assert.equal(s1.overlay.present, true);
    assert.equal(s1.hostname, "web1");
    const s2 = resolveInstallSpec(ok.byName("web2")!, ctx);
    assert.equal(s2.stage3.mirror, "http://m.example/g/", "the host's own mirror wins");
    assert.equal(s2.overlay.present, false);

    const red = redactSpec(s1);
    assert.equal(red.users[0]!.password, REDACTED);
    assert.equal(red.users[1]!.password, "keep");
    assert.equal(s1.users[0]!.password, HASH, "redaction copies");
    assert.equal(
      installSpecSchema.safeParse(red).success,
      false,
      "a redacted spec cannot be installed",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("redactSpec hides URL credentials", () => {
  const base = resolveInstallSpec(
    {
      name: "x",
      file: "x.yaml",
      macs: [],
      firmware: "bios",
      groups: [],
      raw: buildHosts([src("defaults", DEFAULTS), src("x", 'macs: ["52:54:00:00:00:01"]\n')])
        .hosts[0]!.host,
    },
    { mirrorUrl: "http://user:pw@10.0.0.1/mirror/", trustedKeys: [GENTOO_RELEASE_KEY] },
  );
  assert.equal(redactSpec(base).stage3.mirror, `http://${REDACTED}@10.0.0.1/mirror/`);
  assert.equal(
    redactSpec(base).portage.binhostUrl,
    `http://${REDACTED}@10.0.0.1/mirror/releases/amd64/binpackages/23.0/x86-64/`,
  );
});

test("portage.binhostUrl: the profile's release through the server's mirror, only with binhost", () => {
  const spec = (portage: string) =>
    resolveInstallSpec(
      {
        name: "x",
        file: "x.yaml",
        macs: [],
        firmware: "bios",
        groups: [],
        raw: buildHosts([
          src("defaults", DEFAULTS),
          src("x", `macs: ["52:54:00:00:00:01"]\nportage: ${portage}\n`),
        ]).hosts[0]!.host,
      },
      { mirrorUrl: "http://10.0.0.1:8080/mirror/", trustedKeys: [GENTOO_RELEASE_KEY] },
    ).portage.binhostUrl;
  const bin = "http://10.0.0.1:8080/mirror/releases/amd64/binpackages";
  assert.equal(spec("{ profile: default/linux/amd64/23.0 }"), `${bin}/23.0/x86-64/`);
  assert.equal(
    spec("{ profile: default/linux/amd64/23.0/desktop/systemd }"),
    `${bin}/23.0/x86-64/`,
  );
  assert.equal(spec("{ profile: default/linux/amd64/17.1/hardened }"), `${bin}/17.1/x86-64/`);
  assert.equal(spec("{ profile: my-overlay:lab }"), `${bin}/23.0/x86-64/`, "no release: 23.0");
  assert.equal(spec("{ profile: default/linux/amd64/23.0, binhost: false }"), undefined);
});

test("a folder that cannot be read is one error naming it", async () => {
  const err = await loadHostRegistry("/nonexistent/hosts").catch((e: unknown) => e);
  assert.ok(err instanceof HostFileError);
  assert.deepEqual(err.messages, ["/nonexistent/hosts: (root): cannot read the host folder"]);
  assert.ok(err.cause, "keeps the cause");
});
