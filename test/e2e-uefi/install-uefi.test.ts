// The UEFI variant: OVMF netboots (iPXE NIC ROM), the `qemu-uefi` host is
// installed with systemd onto a blank disk (`create` layout: GPT, ESP, root)
// beside its /home disk, boots through the UEFI entry the payload created
// (netboot stays first in BootOrder), finishes phase 2, and keeps /home.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { createTestbed, type Testbed } from "../lib/testbed.ts";
import { probeAccel, makeRawDisk, type RunningVm } from "../lib/qemu.ts";
import { ensureArtifacts } from "../e2e/lib/artifacts.ts";
import { prepareHosts, startBedServer, type BedServer } from "../e2e/lib/server.ts";
import { makeHomeDisk, type HomeDisk } from "../e2e/lib/disks.ts";
import {
  assertCommonSystem,
  assertHomeIntact,
  installMachine,
  type FlowContext,
  type Machine,
} from "../e2e/lib/install-flow.ts";

const accel = probeAccel();
const MIN = 60_000;

describe("UEFI install end to end", { timeout: 30 * MIN }, () => {
  let bed: Testbed;
  let server: BedServer;
  let work: string;
  let keyFile: string;
  let home: HomeDisk;
  const vms: RunningVm[] = [];

  before(async () => {
    process.stderr.write(`[e2e] accelerator: ${accel.name} (${accel.why})\n`);
    const art = await ensureArtifacts();
    work = await mkdtemp("/tmp/am-e2e-uefi-");
    keyFile = join(work, "id_ed25519");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", keyFile]);
    const hostsDir = await prepareHosts(work, await readFile(`${keyFile}.pub`, "utf8"));
    await makeRawDisk(join(work, "uefi-sys.img"), 8 * 1024 * 1024 * 1024);
    home = await makeHomeDisk(join(work, "uefi-home.img"), work, 500);
    bed = await createTestbed("am-e2eu");
    await bed.addTap("tap0");
    server = await startBedServer(bed, art, { workDir: work, hostsDir });
  });

  after(async () => {
    for (const vm of vms) await vm.kill();
    await server?.stop().catch(() => undefined);
    await bed?.close();
    await execa("bash", ["-c", `rm -f "${work}"/*.img`]);
    process.stderr.write(`[e2e] logs kept for inspection: ${work}\n`);
  });

  test(
    "OVMF: arm -> netboot -> create layout -> reboot via the UEFI entry -> phase 2 -> done",
    { timeout: 28 * MIN },
    async () => {
      const ctx: FlowContext = { bed, server, accel, work, keyFile, vms };
      const m: Machine = {
        host: "qemu-uefi",
        mac: "52:54:00:a0:00:02",
        firmware: "uefi",
        tap: "tap0",
        disks: [
          { file: join(work, "uefi-sys.img"), serial: "AM-SYS-UEFI" },
          { file: home.file, serial: "AM-HOME-UEFI" },
        ],
        home,
      };
      const { vm, ssh, t0 } = await installMachine(ctx, m);
      await assertCommonSystem(ssh, m);
      assert.match(await ssh("test -d /sys/firmware/efi && echo uefi"), /uefi/);
      assert.match(await ssh("systemctl is-enabled sshd"), /enabled/);
      assert.match(
        await ssh("findmnt -n -o FSTYPE /efi || findmnt -n -o FSTYPE /boot/efi"),
        /vfat/,
      );
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
      await assertHomeIntact(ctx, ssh, vm, m);
      process.stderr.write(
        `[e2e] whole UEFI flow: ${((Date.now() - t0) / 1000).toFixed(0)} s under ${accel.name}\n`,
      );
    },
  );
});
