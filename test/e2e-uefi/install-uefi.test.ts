// The UEFI variant, and the proxy-DHCP variant of the whole install: OVMF
// netboots (iPXE NIC ROM) beside a dnsmasq that owns the addresses while
// automagic answers only the boot requests; the `qemu-uefi` host is installed
// with systemd onto a blank disk (layout `ab` with `wipe`: GPT, ESP, two root
// slots; the first install goes to slot a) beside its /home disk, boots
// through the UEFI entry the payload created (netboot stays first in
// BootOrder; iPXE's `exit 1` for `local` makes OVMF move on to it), GRUB on
// the ESP boots slot a, phase 2 confirms it, and /home is kept. Before it, on SeaBIOS VMs in the same
// bed: an unknown MAC and the unarmed qemu-bios end at `local` with their
// disks untouched, and an armed rescue of qemu-uefi touches no disk.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeRawDisk } from "../lib/qemu.ts";
import { makeHomeDisk, type HomeDisk } from "../e2e/lib/disks.ts";
import { openInstallBed, type InstallBed } from "../e2e/lib/install-bed.ts";
import {
  assertCommonSystem,
  assertHomeIntact,
  installMachine,
  type Machine,
} from "../e2e/lib/install-flow.ts";
import { checkRescue, checkUnarmedMachines } from "../e2e/lib/safety-checks.ts";

const MIN = 60_000;

/** qemu-uefi's host file with its `create` layout made an A/B table on the same blank disk. */
function asAb(text: string): string {
  const create = /^layout:\n(?: {2}.*\n)+/m;
  assert.match(text, create);
  return text.replace(
    create,
    "layout:\n  mode: ab\n  wipe: { serial: AM-SYS-UEFI }\n  espSize: 256MiB\n  tries: 2\n",
  );
}

describe("UEFI install end to end, proxy DHCP", { timeout: 85 * MIN }, () => {
  let b: InstallBed;
  let home: HomeDisk;

  before(async () => {
    b = await openInstallBed({
      name: "am-e2e-uefi",
      ns: "am-e2eu",
      taps: ["tap0", "tap1", "tap2"],
      dhcpMode: "proxy",
      prepare: async (work) => {
        // Two root slots of at least 4 GiB each beside the ESP.
        await makeRawDisk(join(work, "uefi-sys.img"), 10 * 1024 * 1024 * 1024);
        home = await makeHomeDisk(join(work, "uefi-home.img"), work, 500);
        const file = join(work, "hosts", "qemu-uefi.yaml");
        await writeFile(file, asAb(await readFile(file, "utf8")));
      },
    });
  });

  after(() => b?.close());

  test("an unknown MAC and an unarmed host netboot to `local`; their disks are untouched", () =>
    checkUnarmedMachines(b, {
      unknownMac: "52:54:00:ee:ee:01",
      unarmed: { host: "qemu-bios", mac: "52:54:00:a0:00:01", serial: "AM-SYS-BIOS" },
      taps: ["tap1", "tap2"],
    }));

  test("arm rescue -> netboot -> sshd with root's key from the host file; run done; disk untouched", () =>
    checkRescue(b, {
      host: "qemu-uefi",
      mac: "52:54:00:a0:00:02",
      serial: "AM-SYS-UEFI",
      tap: "tap0",
    }));

  test(
    "OVMF + proxy DHCP: arm -> netboot -> A/B table on a blank disk, slot a -> reboot via the UEFI entry -> GRUB on the ESP boots slot a -> phase 2 confirms it -> done",
    { timeout: 75 * MIN },
    async () => {
      const m: Machine = {
        host: "qemu-uefi",
        mac: "52:54:00:a0:00:02",
        firmware: "uefi",
        tap: "tap0",
        disks: [
          { file: join(b.work, "uefi-sys.img"), serial: "AM-SYS-UEFI" },
          { file: home.file, serial: "AM-HOME-UEFI" },
        ],
        home,
      };
      const { vm, ip, ssh, t0 } = await installMachine(b, m);
      await assertCommonSystem(ssh, m);
      assert.match(await ssh("test -d /sys/firmware/efi && echo uefi"), /uefi/);
      assert.match(await ssh("systemctl is-enabled sshd"), /enabled/);
      // The host's overlay (hosts/qemu-uefi/files), laid down in phase 2.
      assert.match(
        await ssh("cat /etc/systemd/journald.conf.d/automagic.conf"),
        /^Storage=persistent$/m,
      );
      // Its address came from the site's DHCP server, not from automagic.
      const leases = await readFile(join(b.work, "dnsmasq.leases"), "utf8");
      assert.match(leases, new RegExp(`${m.mac}\\s+${ip.replace(/\./g, "\\.")}\\s`), leases);
      assert.match(
        await ssh("findmnt -n -o FSTYPE /efi || findmnt -n -o FSTYPE /boot/efi"),
        /vfat/,
      );
      // Layout ab: two slots named on the fresh GPT, the first install in a, confirmed.
      const names = await ssh("lsblk -n -o PARTLABEL /dev/vda");
      assert.match(names, /^automagic-a$/m, names);
      assert.match(names, /^automagic-b$/m, names);
      assert.equal((await ssh("findmnt -n -o LABEL /")).trim(), "gentoo-a");
      const env = await ssh("grub-editenv /efi/grub/grubenv list");
      assert.match(env, /^ab_default=a$/m, env);
      assert.doesNotMatch(env, /^ab_trial=[ab]$/m, env);
      // BootOrder and the entries' descriptions straight from efivarfs (the
      // installed system need not carry efibootmgr).
      const g = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
      const order = (await ssh(`od -An -tx2 -j4 /sys/firmware/efi/efivars/BootOrder-${g}`))
        .trim()
        .split(/\s+/)
        .map((x) => x.toUpperCase().padStart(4, "0"));
      const gentoo = (
        await ssh(
          `for f in /sys/firmware/efi/efivars/Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F]-${g}; do tr -d '\\000' <"$f" | grep -aqi gentoo && basename "$f" | cut -c5-8; done`,
        )
      ).trim();
      assert.ok(
        gentoo && order.includes(gentoo),
        `a gentoo entry (${gentoo}) in BootOrder ${order}`,
      );
      assert.notEqual(order[0], gentoo, `netboot stays first in BootOrder ${order}`);
      await assertHomeIntact(b, ssh, vm, m);
      process.stderr.write(
        `[e2e] whole UEFI flow: ${((Date.now() - t0) / 1000).toFixed(0)} s under ${b.accel.name}\n`,
      );
    },
  );
});
