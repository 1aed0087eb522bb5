// The discovered page's "create host file" YAML is a host file the loader
// takes once the disk's serial is filled in, for either firmware.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadHostRegistry } from "../../../server/hosts/index.ts";
import { hostFileYaml } from "../../../server/ui/discovered-page.ts";

test("discovered: the host file to paste loads, with the serial filled in, as bios or uefi", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "am-console-hosts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(resolve(import.meta.dirname, "../../../hosts/defaults.yaml"), join(dir, "defaults.yaml"));
  const mac = "52:54:00:12:34:56";
  const yaml = hostFileYaml({ mac, firstSeen: 0, lastSeen: 0, seen: 3, arch: "x86_64" });
  assert.match(yaml, /serial: CHANGE-ME/, "the disk is for a person to name");
  for (const firmware of ["uefi", "bios"]) {
    const text = yaml
      .replace("CHANGE-ME", "S64ANS0T000000X")
      .replace(/^firmware: uefi/m, `firmware: ${firmware}`);
    writeFileSync(join(dir, "newbox.yaml"), text);
    const reg = await loadHostRegistry(dir);
    assert.equal(reg.byMac(mac)?.name, "newbox", firmware);
    assert.equal(reg.byMac(mac)?.firmware, firmware);
  }
});
