import { test } from "node:test";
import assert from "node:assert/strict";
import {
  parseFirmwareNames,
  resolveLink,
  selectFirmware,
} from "../../../image-builder/base/firmware.ts";

test("modinfo firmware output: distinct names, sorted, blank lines ignored", () => {
  assert.deepEqual(
    parseFirmwareNames(
      "rtl_nic/rtl8168h-2.fw\nbnx2/bnx2-mips-09-6.2.1b.fw\n\nrtl_nic/rtl8168h-2.fw\n",
    ),
    ["bnx2/bnx2-mips-09-6.2.1b.fw", "rtl_nic/rtl8168h-2.fw"],
  );
});

test("link targets resolve relative to the firmware folder; outside it is no target", () => {
  assert.equal(
    resolveLink("intel/ice/ddp/ice.pkg", "ice-1.3.36.0.pkg"),
    "intel/ice/ddp/ice-1.3.36.0.pkg",
  );
  assert.equal(resolveLink("tigon/tg3.bin", "../tigon/tg3_tso.bin"), "tigon/tg3_tso.bin");
  assert.equal(resolveLink("a.fw", "/usr/lib/firmware/b/c.fw"), "b/c.fw");
  assert.equal(resolveLink("a.fw", "/lib/firmware/b/c.fw"), "b/c.fw");
  assert.equal(resolveLink("a.fw", "../../etc/passwd"), undefined);
  assert.equal(resolveLink("a.fw", "/etc/passwd"), undefined);
});

const TREE = new Map<string, string | null>([
  ["rtl_nic/rtl8168h-2.fw", null],
  ["rtl_nic/rtl8153a-4.fw.xz", null],
  ["rtl_nic/rtl8822b.fw", null], // named by no kept module
  ["intel/ice/ddp/ice.pkg", "intel/ice/ddp/ice-1.3.36.0.pkg"],
  ["intel/ice/ddp/ice-1.3.36.0.pkg", null],
  ["intel/ice/ddp/ice-1.3.30.0.pkg", null], // an older DDP nothing links to
  ["amdgpu/navi10_sos.bin", null],
  ["qed/qed_init_values_zipped-8.59.1.0.bin", null],
  ["loop/a.fw", "loop/b.fw"],
  ["loop/b.fw", "loop/a.fw"],
  ["dangling.fw", "nowhere.fw"],
]);

test("selectFirmware keeps named files in any compressed form, follows links, reports the rest missing", () => {
  const { keep, missing } = selectFirmware(
    [
      "rtl_nic/rtl8168h-2.fw",
      "rtl_nic/rtl8153a-4.fw",
      "intel/ice/ddp/ice.pkg",
      "qed/qed_init_values_zipped-*.bin",
      "renesas_usb_fw.mem",
      "loop/a.fw",
      "dangling.fw",
    ],
    TREE,
  );
  assert.deepEqual([...keep].sort(), [
    "dangling.fw",
    "intel/ice/ddp/ice-1.3.36.0.pkg",
    "intel/ice/ddp/ice.pkg",
    "loop/a.fw",
    "loop/b.fw",
    "qed/qed_init_values_zipped-8.59.1.0.bin",
    "rtl_nic/rtl8153a-4.fw.xz",
    "rtl_nic/rtl8168h-2.fw",
  ]);
  assert.deepEqual(missing, ["renesas_usb_fw.mem"]);
});

test("selectFirmware with nothing named keeps nothing; a glob does not cross folders", () => {
  assert.equal(selectFirmware([], TREE).keep.size, 0);
  assert.deepEqual(selectFirmware(["*.bin"], TREE), { keep: new Set(), missing: ["*.bin"] });
});
