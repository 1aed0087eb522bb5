// The console's test bed: the HTTP app in-process (test/unit/http/harness.ts)
// with an admin token, a host whose file names its disk, a fake machine that
// boots with a token and posts run events, and Debian's chromium driven by
// playwright-core (no browser download: a missing /usr/bin/chromium fails).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import type { HostEntry } from "../../../server/hosts/index.ts";
import { fakeHost } from "../../fakes/control-hosts.ts";
import { KNOWN, OTHER, startHarness, type Harness } from "../../unit/http/harness.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const TOKEN = "console-test-admin-token-0123456789";
export const DISK = "WS1-SYSTEM-DISK";

export async function launch(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the console test needs Debian's chromium (bin/setup-debian installs it)`,
  );
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

export function hosts(): HostEntry[] {
  const raw = {
    disk: { serial: DISK, minSize: 200e9 },
    layout: { mode: "create", wipe: { serial: DISK } },
  } as unknown as HostEntry["raw"];
  return [
    fakeHost("ws1", [KNOWN], { raw, groups: ["lab"] }),
    fakeHost("ws2", [OTHER], {
      groups: ["lab"],
      raw: {
        disk: { serial: "WS2-DISK" },
        layout: { mode: "keep" },
      } as unknown as HostEntry["raw"],
    }),
  ];
}

export async function startBed(): Promise<Harness> {
  const h = await startHarness({
    hosts: hosts(),
    config: { adminToken: TOKEN, adminTokenFile: "/var/lib/automagic/admin-token" },
  });
  // A captured system image, as the store commits one: JSON beside the archive.
  const dir = join(h.dir, "state", "sysimgs");
  mkdirSync(dir, { recursive: true });
  const name = "ws1-20261201T090000Z";
  writeFileSync(join(dir, `${name}.tar.zst`), "archive");
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify({
      name,
      host: "ws1",
      run: 1,
      bytes: 3_456_789_012,
      sha256: "ab".repeat(32),
      created: "2026-12-01T09:00:00Z",
      source: { device: "/dev/sda3", fs: "ext4" },
    }),
  );
  return h;
}

export { FakeMachine } from "../../lib/fake-machine.ts";
