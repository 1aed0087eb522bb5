import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import { portageFiles } from "../../../payload/render/portage.ts";
import { systemFiles, systemCommands } from "../../../payload/render/system.ts";
import { renderNetwork } from "../../../payload/render/network.ts";
import { renderFstab } from "../../../payload/render/fstab.ts";
import { mergeAccounts } from "../../../payload/render/accounts.ts";
import { parseEfibootmgr, orderWithEntryAfterCurrent } from "../../../payload/render/efibootmgr.ts";
import { assertGolden, readJson } from "../../lib/golden.ts";

const spec = (n: string): InstallSpec =>
  parseInstallSpec(readJson(`test/golden/plans/specs/${n}.json`), n);
const SPECS = ["lab-bios-openrc", "ws-uefi-create-systemd", "nuc-uefi-keep-openrc"];
const dump = (files: { path: string; content: string; mode: number }[]) =>
  files.map((f) => `=== ${f.path} (${f.mode.toString(8)})\n${f.content}`).join("\n");

for (const n of SPECS) {
  test(`portage files for ${n} (golden)`, () =>
    assertGolden(`test/golden/render/${n}.portage.txt`, dump(portageFiles(spec(n)))));
  test(`system files and commands for ${n} (golden)`, () => {
    const s = spec(n);
    assertGolden(
      `test/golden/render/${n}.system.txt`,
      dump(systemFiles(s)) +
        "\n=== commands\n" +
        systemCommands(s)
          .map((c) => c.join(" "))
          .join("\n") +
        "\n",
    );
  });
  test(`network for ${n} (golden)`, () => {
    const net = renderNetwork(spec(n), { mac: "52:54:00:12:34:56" });
    assertGolden(
      `test/golden/render/${n}.network.txt`,
      dump(net.files) + "\n=== commands\n" + net.commands.map((c) => c.join(" ")).join("\n") + "\n",
    );
  });
}

test("network: the NIC is named by MAC (BOOTIF, else the spec's first), lan0 unless the spec names it", () => {
  const s = spec("lab-bios-openrc");
  const noBoot = renderNetwork(s, undefined);
  assert.equal(noBoot.ifname, "lan0");
  assert.equal(noBoot.mac, s.macs[0]);
  assert.equal(
    noBoot.files[0]!.content.split("\n")[1],
    `SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="${s.macs[0]}", NAME="lan0"`,
  );
  assert.deepEqual(noBoot.commands, [["rc-update", "add", "dhcpcd", "default"]]);
  const ws = renderNetwork(spec("ws-uefi-create-systemd"), { mac: "AA:BB:CC:00:11:22" });
  assert.equal(ws.mac, "aa:bb:cc:00:11:22");
  const link = ws.files.find((f) => f.path.endsWith(".link"))!;
  assert.equal(link.path, `/etc/systemd/network/10-${ws.ifname}.link`);
  assert.match(link.content, /^MACAddress=aa:bb:cc:00:11:22$/m);
  assert.match(link.content, new RegExp(`^Name=${ws.ifname}$`, "m"));
});

test("make.conf: the server's mirror, GRUB_PLATFORMS for the firmware, binhost FEATURES once", () => {
  const conf = (n: string) => portageFiles(spec(n)).find((f) => f.path.endsWith("make.conf"))!;
  assert.match(conf("lab-bios-openrc").content, /^GRUB_PLATFORMS="pc"$/m);
  assert.match(conf("nuc-uefi-keep-openrc").content, /^GRUB_PLATFORMS="efi-64"$/m);
  assert.match(
    conf("nuc-uefi-keep-openrc").content,
    /^FEATURES="parallel-fetch getbinpkg binpkg-request-signature"$/m,
  );
  assert.match(
    conf("lab-bios-openrc").content,
    /^GENTOO_MIRRORS="http:\/\/10\.0\.0\.1:8080\/mirror"$/m,
  );
  const own = spec("lab-bios-openrc");
  own.portage.makeConf = {
    FEATURES: "getbinpkg binpkg-request-signature",
    GRUB_PLATFORMS: "pc efi-64",
  };
  const text = portageFiles(own).find((f) => f.path.endsWith("make.conf"))!.content;
  assert.match(text, /^FEATURES="getbinpkg binpkg-request-signature"$/m);
  assert.match(text, /^GRUB_PLATFORMS="pc efi-64"$/m);
});

test("binrepos.conf points at the spec's binhost URL; no public URL", () => {
  const s = spec("lab-bios-openrc");
  const f = portageFiles(s).find((x) => x.path.endsWith("binrepos.conf/gentoo.conf"))!;
  assert.match(f.content, new RegExp(`^sync-uri = ${s.portage.binhostUrl}$`, "m"));
  assert.doesNotMatch(f.content, /gentoo\.org/);
});

test("fstab by UUID with /home, ESP and swap (golden)", () => {
  assertGolden(
    "test/golden/render/fstab.txt",
    renderFstab({
      root: { uuid: "6f1e9c2a-1111-4a1a-9a1a-111111111111", fs: "ext4" },
      esp: { uuid: "1A2B-3C4D" },
      home: {
        uuid: "b7d3f0e4-3333-4c3c-9c3c-333333333333",
        fs: "ext4",
        options: "defaults,noatime",
      },
      swap: { uuid: "5a5a5a5a-2222-4b2b-9b2b-222222222222" },
    }),
  );
});

const BASE = {
  passwd:
    "root:x:0:0:root:/root:/bin/bash\nportage:x:250:250:portage:/var/lib/portage/home:/sbin/nologin\n",
  shadow: "root:*:19000:0:99999:7:::\nportage:!:19000::::::\n",
  group: "root:x:0:\nwheel:x:10:root\nusers:x:100:\nportage:x:250:portage\n",
  gshadow: "root:::\nwheel:::root\nusers:::\nportage:::portage\n",
};

test("accounts merge gives the spec's IDs and kept hashes (golden)", () => {
  const m = mergeAccounts(BASE, spec("ws-uefi-create-systemd"), {});
  const lab = mergeAccounts(BASE, spec("lab-bios-openrc"), { alice: "$6$old$keptHASH" });
  assertGolden(
    "test/golden/render/accounts.txt",
    `${m.passwd}--\n${m.shadow}--\n${m.group}--\n${m.gshadow}==\n${lab.passwd}--\n${lab.shadow}--\n${lab.group}`,
  );
  assert.match(lab.shadow, /^alice:\$6\$old\$keptHASH:/m);
});

test("accounts: a shell the new root lacks yet is /bin/bash until phase 2", () => {
  const s = spec("ws-uefi-create-systemd");
  const m = mergeAccounts(BASE, s, {}, new Set(["/bin/zsh"]));
  assert.match(m.passwd, /^alice:x:1000:1000::\/home\/alice:\/bin\/bash$/m);
  assert.match(mergeAccounts(BASE, s, {}).passwd, /^alice:.*:\/bin\/zsh$/m);
});

test("accounts merge refuses a UID/GID the stage3 already uses", () => {
  const s = spec("lab-bios-openrc");
  s.users[0]!.uid = 250;
  assert.throws(
    () => mergeAccounts(BASE, s, { alice: "$6$x$y" }),
    /users\[0\]: uid 250 for 'alice' is already user 'portage'/,
  );
  const g = spec("ws-uefi-create-systemd");
  g.groups = [{ name: "media", gid: 250 }];
  assert.throws(
    () => mergeAccounts(BASE, g, {}),
    /groups\[0\]: gid 250 for 'media' is already group 'portage'/,
  );
  const k = spec("lab-bios-openrc");
  assert.throws(
    () => mergeAccounts(BASE, k, {}),
    /users\[0\]\.password: 'keep' but the old root had no hash for 'alice'/,
  );
});

test("efibootmgr: parse and keep netboot first", () => {
  const b = parseEfibootmgr(
    "BootCurrent: 0001\nTimeout: 0 seconds\nBootOrder: 0001,0000,0002\nBoot0000* UiApp\tFvVol(...)\nBoot0001* UEFI PXEv4 (MAC:525400123456)\tPciRoot(0x0)\nBoot0002* gentoo\tHD(1,GPT,...)/File(\\EFI\\gentoo\\grubx64.efi)\n",
  );
  assert.equal(b.bootCurrent, "0001");
  assert.deepEqual(b.order, ["0001", "0000", "0002"]);
  assert.deepEqual(
    b.entries.map((e) => e.label),
    ["UiApp", "UEFI PXEv4 (MAC:525400123456)", "gentoo"],
  );
  // OVMF: PXE (booted us), UiApp, shell: Gentoo must come right after PXE, before UiApp.
  assert.deepEqual(orderWithEntryAfterCurrent(["0001", "0000", "0002"], "0004", "0001"), [
    "0001",
    "0004",
    "0000",
    "0002",
  ]);
  // A stale copy of our entry is moved, not duplicated; no BootCurrent: after the first.
  assert.deepEqual(orderWithEntryAfterCurrent(["0001", "0003", "0000"], "0003"), [
    "0001",
    "0003",
    "0000",
  ]);
  assert.deepEqual(orderWithEntryAfterCurrent([], "0003"), ["0003"]);
});
