// iPXE scripts as exact text. UPDATE_GOLDEN=1 rewrites test/golden/ipxe/.
import { test } from "node:test";
import { join } from "node:path";
import { assertGolden } from "../../lib/golden.ts";
import { renderIpxe, type BootScript, type Script } from "../../../server/policy/ipxe.ts";

const dir = join(import.meta.dirname, "../../golden/ipxe");
const base: BootScript = {
  kind: "boot",
  mac: "52:54:00:12:34:56",
  host: "ws1",
  action: "install",
  runId: 42,
  token: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  serverUrl: "http://10.77.0.1:8080",
  kernelUrl: "http://10.77.0.1:8080/images/20261127-1/0123456789abcdef/vmlinuz",
  initrdUrl: "http://10.77.0.1:8080/images/20261127-1/fedcba9876543210/initrd.img",
  tries: 10,
  localBoot: "exit",
};

const cases: Record<string, Script> = {
  "local-exit": {
    kind: "local",
    mac: "52:54:00:12:34:56",
    reason: "no action armed",
    localBoot: "exit",
  },
  "local-sanboot": {
    kind: "local",
    mac: "52:54:00:12:34:56",
    reason: "run 3 (install) done",
    localBoot: "sanboot",
  },
  "local-unknown": {
    kind: "local",
    mac: "52:54:00:99:99:99",
    reason: "unknown MAC (recorded as discovered)",
    localBoot: "exit",
  },
  install: base,
  "install-image-args": {
    ...base,
    imageArgs: "console=tty0 console=ttyS0,115200n8 quiet cryptomgr.notests",
    extraCmdline: "ip=dhcp",
  },
  capture: { ...base, action: "capture" },
  rescue: { ...base, action: "rescue", localBoot: "sanboot" },
  deploy: { ...base, action: "deploy:gold-2026", extraCmdline: "quiet" },
  chain: { kind: "chain", serverUrl: "http://10.77.0.1:8080" },
  "error-no-image": {
    kind: "error",
    mac: "52:54:00:12:34:56",
    message: "install is armed for ws1 but there is no netboot image (images/current)\n${evil}",
    localBoot: "exit",
  },
};

for (const [name, script] of Object.entries(cases)) {
  test(`iPXE golden: ${name}`, () => {
    const file = join(dir, `${name}.ipxe`);
    assertGolden(file, renderIpxe(script));
  });
}
