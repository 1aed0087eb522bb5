// Layout ab in the install spec and in host files: both shapes (wipe creates
// the table, slots adopts one), defaults, and errors that name the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec } from "../../../payload/spec/schema.ts";
import { buildHosts, type SourceFile } from "../../../server/hosts/registry.ts";
import { toSpecLayout } from "../../../server/hosts/resolve.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";

const spec = (layout: unknown) => parseInstallSpec({ ...minimalSpecInput(), layout }, "s.json");
const specError = (layout: unknown) => {
  try {
    spec(layout);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
};

test("spec: ab with wipe gets tries 3; sizes stay absent (the planner's defaults)", () => {
  assert.deepEqual(spec({ mode: "ab", wipe: true }).layout, { mode: "ab", wipe: true, tries: 3 });
  const adopt = spec({
    mode: "ab",
    slots: { a: { partlabel: "automagic-a" }, b: { partlabel: "automagic-b" } },
    boot: { label: "automagic-boot" },
    tries: 5,
  }).layout;
  assert.equal(adopt.mode === "ab" && adopt.tries, 5);
});

test("spec: bad ab layouts name the field", () => {
  const slots = { a: { partlabel: "automagic-a" }, b: { partlabel: "automagic-b" } };
  const cases: [unknown, string][] = [
    [{ mode: "ab" }, "s.json: layout: mode ab needs wipe"],
    [{ mode: "ab", wipe: true, slots }, "s.json: layout.slots: give either wipe"],
    [{ mode: "ab", wipe: true, boot: { label: "x" } }, "s.json: layout.boot: only with slots"],
    [{ mode: "ab", slots, slotBytes: 5 * 2 ** 30 }, "s.json: layout.slotBytes: only with wipe"],
    [{ mode: "ab", slots: { a: slots.a, b: slots.a } }, "s.json: layout.slots.b: is the same"],
    [{ mode: "ab", wipe: true, tries: 0 }, "s.json: layout.tries: "],
    [{ mode: "ab", wipe: true, tries: 6 }, "s.json: layout.tries: "],
    [{ mode: "ab", slots: { a: slots.a } }, "s.json: layout.slots.b: "],
  ];
  for (const [layout, want] of cases) {
    const got = specError(layout);
    assert.ok(got.startsWith(want), `${JSON.stringify(layout)}: ${got}`);
  }
});

const DEFAULTS = `
firmware: bios
disk: { serial: SYS }
home: { ref: { label: home }, fs: ext4 }
rootfs: ext4
init: openrc
portage: { profile: default/linux/amd64/23.0 }
kernel: { linuxFirmware: false, intelMicrocode: false }
locale: { locales: ["en_US.UTF-8 UTF-8"], lang: en_US.UTF-8 }
timezone: UTC
keymap: us
network: { mode: dhcp }
`;
const src = (name: string, text: string): SourceFile => ({
  name,
  file: `hosts/${name}.yaml`,
  text,
});
const build = (layout: string, extra = "") =>
  buildHosts([
    src("defaults", DEFAULTS),
    src("h", `macs: ["52:54:00:00:00:01"]\nlayout: ${layout}\n${extra}`),
  ]);
const SLOTS = "slots: { a: { partlabel: automagic-a }, b: { partlabel: automagic-b } }";

test("host file: ab create with sizes as written, resolved to the spec's bytes", () => {
  const r = build("{ mode: ab, wipe: { serial: SYS }, bootSize: 512MiB, slotSize: 20G, tries: 2 }");
  assert.deepEqual(r.errors, []);
  const l = r.hosts[0]!.host.layout;
  assert.deepEqual(toSpecLayout(l), {
    mode: "ab",
    wipe: true,
    espBytes: undefined,
    bootBytes: 512 * 2 ** 20,
    swapBytes: undefined,
    slotBytes: 20 * 2 ** 30,
    tries: 2,
  });
});

test("host file: ab adopt resolves to the spec's adopt shape", () => {
  const r = build(`{ mode: ab, ${SLOTS}, boot: { label: automagic-boot } }`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(spec(toSpecLayout(r.hosts[0]!.host.layout)).layout, {
    mode: "ab",
    slots: { a: { partlabel: "automagic-a" }, b: { partlabel: "automagic-b" } },
    boot: { label: "automagic-boot" },
    tries: 3,
  });
});

test("hosts validate: bad ab layouts name the field", () => {
  const cases: [string, string, string][] = [
    [
      `{ mode: ab, wipe: { serial: SYS }, ${SLOTS} }`,
      "",
      "hosts/h.yaml: layout.slots: give either wipe (create a new A/B table) or slots (adopt an existing one), not both",
    ],
    [
      `{ mode: ab, slots: { a: { label: home }, b: { partlabel: automagic-b } }, boot: { label: b } }`,
      "",
      "hosts/h.yaml: layout.slots.a: is the /home partition; a slot is reformatted",
    ],
    [
      `{ mode: ab, ${SLOTS} }`,
      "",
      "hosts/h.yaml: layout.boot: required when firmware is bios and layout ab adopts slots (the shared partition GRUB and its boot state live on)",
    ],
    [
      `{ mode: ab, ${SLOTS}, boot: { label: b } }`,
      "firmware: uefi\n",
      "hosts/h.yaml: layout.esp: required when firmware is uefi and layout ab adopts slots (the shared partition GRUB and its boot state live on)",
    ],
    [
      "{ mode: ab, wipe: { serial: OTHER } }",
      "",
      "hosts/h.yaml: layout.wipe: must select the same disk as `disk` (ab may only wipe the target disk)",
    ],
    [
      "{ mode: ab, wipe: { serial: SYS } }",
      "home: { ref: { label: home }, fs: ext4, disk: { serial: SYS } }\n",
      "hosts/h.yaml: home.disk: /home is on the disk that layout ab would wipe",
    ],
    [
      `{ mode: ab, ${SLOTS}, boot: { label: b }, slotSize: 20G }`,
      "",
      "hosts/h.yaml: layout.slotSize: only with wipe (creating a new A/B table)",
    ],
    ["{ mode: ab, wipe: { serial: SYS }, tries: 9 }", "", "hosts/h.yaml: layout.tries: "],
  ];
  for (const [layout, extra, want] of cases) {
    const errors = build(layout, extra).errors;
    assert.ok(
      errors.some((e) => e.startsWith(want)),
      `${layout}\n  want: ${want}\n  got:  ${errors.join("\n        ")}`,
    );
  }
});
