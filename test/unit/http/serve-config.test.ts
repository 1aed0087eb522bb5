// server/app pure parts: serve config (YAML + flags), WoL packets, CLI text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  loadServeConfig,
  parseDuration,
  parseServeConfig,
  serverUrlOf,
} from "../../../server/app/config.ts";
import { magicPacket } from "../../../server/app/wol.ts";
import { broadcastOf } from "../../../server/dhcp/ip.ts";
import { formatEvent, formatStatus } from "../../../server/app/format.ts";
import { flagsToConfig } from "../../../server/cli/commands/serve.ts";

test("durations", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("6h"), 6 * 3600_000);
  assert.equal(parseDuration(250), 250);
  assert.throws(() => parseDuration("soon"), /"soon" is not a duration/);
});

test("serve config: YAML file, flags win, errors name file and field", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "am-ctl-cfg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "serve.yaml");
  writeFileSync(
    file,
    "listen: 10.0.0.1\nhttp: { port: 9000 }\ndhcp: { mode: proxy }\nstallAfter: 5m\n",
  );
  const cfg = loadServeConfig(file, flagsToConfig({ httpPort: "9100", localBoot: "sanboot" }));
  assert.equal(cfg.listen, "10.0.0.1");
  assert.equal(cfg.http.port, 9100);
  assert.equal(cfg.dhcp.mode, "proxy");
  assert.equal(cfg.stallAfter, 300_000);
  assert.equal(cfg.tokenTtl, 6 * 3600_000);
  assert.equal(cfg.localBoot, "sanboot");
  assert.equal(cfg.tftp.enabled, true);
  assert.equal(serverUrlOf(cfg, 9100), "http://10.0.0.1:9100");
  assert.equal(loadServeConfig(undefined, flagsToConfig({ tftp: false })).tftp.enabled, false);
  writeFileSync(file, "listen: nowhere\nhttp: { prot: 1 }\n");
  assert.throws(
    () => loadServeConfig(file, {}),
    (err: Error) =>
      err.message.includes(`${file}: listen: an IPv4 address`) &&
      err.message.includes(`${file}: http: Unrecognized key`),
  );
});

test("wake-on-lan magic packet and broadcast address", () => {
  const p = magicPacket("52:54:00:a0:00:01");
  assert.equal(p.length, 102);
  assert.equal(p.toString("hex"), "ff".repeat(6) + "525400a00001".repeat(16));
  // Wake-on-LAN's broadcast from an interface address and its prefix (one helper with DHCP's).
  assert.equal(broadcastOf("10.77.0.1", 24), "10.77.0.255");
  assert.equal(broadcastOf("192.168.5.9", 22), "192.168.7.255");
  assert.throws(() => magicPacket("nope"), /"nope" is not a MAC/);
});

test("serve config: the dhcp block is strict all the way down; a typo names its path", () => {
  const subnet = "{ network: 10.0.0.0, prefixLen: 24, poolStart: 10.0.0.100, poolEnd: 10.0.0.200";
  const bad = (yaml: string) => () => parseServeConfig(parseYaml(yaml), "serve.yaml");
  assert.throws(
    bad(`dhcp: { mode: full, subnet: ${subnet}, rotuer: 10.0.0.1 } }`),
    /serve\.yaml: dhcp\.subnet: Unrecognized key: "rotuer"/,
  );
  assert.throws(
    bad(`dhcp: { mode: full, subnet: ${subnet} }, relaySubnet: [] }`),
    /dhcp: Unrecognized key: "relaySubnet"/,
  );
  assert.throws(
    bad(`dhcp: { mode: full, subnet: ${subnet}, leaseSecs: 600 } }`),
    /dhcp\.subnet: Unrecognized key: "leaseSecs"/,
  );
  const ok = parseServeConfig(
    parseYaml(`dhcp: { mode: full, subnet: ${subnet}, leaseSeconds: 600 } }`),
    "serve.yaml",
  );
  assert.equal(ok.dhcp.subnet?.leaseSeconds, 600);
});

test("status and event text", () => {
  const text = formatStatus([
    { host: "ws1", macs: [], state: "local" },
    {
      host: "ws2",
      macs: [],
      state: "failed:install",
      run: {
        id: 3,
        action: "install",
        status: "failed",
        phase: 1,
        step: "pave",
        failure: "step pave, exit code 1",
      },
    },
    {
      host: "ws3",
      macs: [],
      state: "running:install",
      run: {
        id: 4,
        action: "install",
        status: "running",
        phase: 2,
        step: "packages",
        progress: { done: 3, total: 12 },
        specIp: "10.0.0.23",
      },
    },
    {
      host: "ws4",
      macs: [],
      state: "local",
      note: "armed install expired: no machine booted it within 24 h (armed 2026-12-01T10:00:00.000Z)",
    },
  ]);
  assert.equal(
    text,
    [
      "HOST  STATE            RUN        PHASE  STEP      PROGRESS  LAST EVENT  FROM",
      "ws1   local            -          -      -         -         -           -",
      "ws2   failed:install   3 failed   1      pave      -         -           -",
      "ws3   running:install  4 running  2      packages  25%       -           10.0.0.23",
      "ws4   local            -          -      -         -         -           -",
      "",
      "ws2: step pave, exit code 1",
      "",
      "ws4: armed install expired: no machine booted it within 24 h (armed 2026-12-01T10:00:00.000Z)",
      "",
    ].join("\n"),
  );
  const line = formatEvent({
    id: 1,
    runId: 3,
    host: "ws2",
    receivedAt: 0,
    event: {
      seq: 9,
      time: "2026-11-27T10:00:00.000Z",
      phase: 1,
      kind: "step-fail",
      step: "pave",
      device: "/dev/vda2",
      command: "mkfs.ext4 /dev/vda2",
      exitCode: 1,
      stderrTail: "busy\n",
    },
  });
  assert.equal(
    line,
    '2026-11-27T10:00:00.000Z run 3 p1 #9 step-fail pave device=/dev/vda2 command="mkfs.ext4 /dev/vda2" exit=1\n  busy',
  );
});
