// Kernel module pruning. A server netboot image needs its NICs, disks and
// filesystems, not sound, media, GPUs or wireless. Keep-rules name module
// paths below lib/modules/<ver>/kernel/; the dependency closure from
// modules.dep is then added so a kept module never lacks what it needs.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

/** Path prefixes (below kernel/) of modules to keep. */
export const KEEP_PREFIXES: readonly string[] = [
  // NICs: virtio, e1000 (QEMU), common Intel/Broadcom/Realtek/Mellanox server NICs
  // (intel/: e1000e igb igc ixgbe i40e ice; broadcom/: tg3 bnx2 bnx2x bnxt_en;
  // realtek/: r8169 8139too), the desktop and 10G families beside them, and
  // the hypervisors' own NICs
  "drivers/net/virtio_net",
  "drivers/net/ethernet/intel/",
  "drivers/net/ethernet/broadcom/",
  "drivers/net/ethernet/realtek/",
  "drivers/net/ethernet/mellanox/mlx4/",
  "drivers/net/ethernet/mellanox/mlx5/",
  "drivers/net/ethernet/aquantia/", // atlantic: Aquantia/Marvell AQtion 5/10G
  "drivers/net/ethernet/atheros/", // alx, atl1c, atl1e: Killer/Atheros desktop NICs
  "drivers/net/ethernet/marvell/sky2",
  "drivers/net/ethernet/marvell/skge",
  "drivers/net/ethernet/qlogic/qed/", // qede: QLogic/Marvell FastLinQ 10-100G
  "drivers/net/ethernet/qlogic/qede/",
  "drivers/net/ethernet/emulex/benet/", // be2net: Emulex OneConnect (HPE, IBM blades)
  "drivers/net/ethernet/amd/pcnet32",
  "drivers/net/ethernet/amazon/ena/",
  "drivers/net/vmxnet3/",
  "drivers/net/hyperv/",
  // USB Ethernet adapters and docks: Realtek (r8152), ASIX (ax88179_178a,
  // asix), Aquantia USB (aqc111), Microchip (lan78xx, smsc95xx), and the
  // class drivers most docks speak (cdc_ether, cdc_ncm, cdc_eem)
  "drivers/net/usb/usbnet",
  "drivers/net/usb/r8152",
  "drivers/net/usb/r8153_ecm",
  "drivers/net/usb/ax88179_178a",
  "drivers/net/usb/asix",
  "drivers/net/usb/aqc111",
  "drivers/net/usb/lan78xx",
  "drivers/net/usb/smsc95xx",
  "drivers/net/usb/smsc75xx",
  "drivers/net/usb/rtl8150",
  "drivers/net/usb/cdc_ether",
  "drivers/net/usb/cdc_ncm",
  "drivers/net/usb/cdc_eem",
  "drivers/net/usb/cdc_subset",
  "drivers/net/bonding/",
  "drivers/net/mii",
  "drivers/net/phy/",
  "drivers/net/mdio",
  "net/8021q/",
  // disks: NVMe, AHCI/ATA, SCSI/SAS/RAID HBAs, virtio, USB storage, MD/DM
  "drivers/nvme/",
  "drivers/ata/",
  "drivers/scsi/sd_mod",
  "drivers/scsi/sr_mod",
  "drivers/scsi/sg",
  "drivers/scsi/scsi_mod",
  "drivers/scsi/scsi_common",
  "drivers/scsi/scsi_transport_sas",
  "drivers/scsi/scsi_transport_spi",
  "drivers/scsi/virtio_scsi",
  "drivers/scsi/hpsa",
  "drivers/scsi/mpt3sas/",
  "drivers/scsi/megaraid/",
  "drivers/scsi/smartpqi/",
  "drivers/scsi/aacraid/",
  "drivers/scsi/libsas/",
  "drivers/scsi/mvsas/",
  "drivers/scsi/isci/",
  "drivers/scsi/arcmsr/",
  "drivers/scsi/mpi3mr/", // Broadcom 9600-series tri-mode HBAs
  "drivers/scsi/pm8001/",
  "drivers/scsi/vmw_pvscsi", // VMware paravirtual SCSI
  "drivers/scsi/sym53c8xx_2/", // LSI 53c8xx (QEMU's lsi53c895a, old servers)
  "drivers/scsi/hv_storvsc", // Hyper-V
  "drivers/message/fusion/",
  "drivers/block/virtio_blk",
  "drivers/block/loop",
  "drivers/block/nbd",
  "drivers/md/",
  "drivers/pci/controller/vmd",
  "drivers/virtio/",
  "drivers/char/hw_random/virtio-rng",
  "drivers/cdrom/",
  // eMMC/SD: small machines (NUCs, thin clients) install onto eMMC
  "drivers/mmc/core/",
  "drivers/mmc/host/sdhci", // sdhci, sdhci-pci, sdhci-acpi
  "drivers/mmc/host/cqhci",
  // USB storage and keyboards
  "drivers/usb/host/",
  "drivers/usb/core/",
  "drivers/usb/common/",
  "drivers/usb/storage/",
  "drivers/hid/usbhid/",
  "drivers/hid/hid-generic",
  "drivers/hid/hid.",
  // filesystems the installer makes, reads or keeps (/home)
  "fs/ext4/",
  "fs/jbd2/",
  "fs/mbcache",
  "fs/xfs/",
  "fs/btrfs/",
  "fs/fat/",
  "fs/nls/nls_cp437",
  // Debian's kernel mounts FAT with iocharset=ascii by default (FAT_DEFAULT_IOCHARSET):
  // without nls_ascii every ESP mount fails ("IO charset ascii not found").
  "fs/nls/nls_ascii",
  "fs/nls/nls_iso8859-1",
  "fs/nls/nls_utf8",
  "fs/efivarfs/",
  "fs/isofs/",
  "fs/squashfs/",
  "fs/overlayfs/",
  // helpers those pull in by name (checksums, RAID maths, crypto for dm-crypt)
  "crypto/",
  "arch/x86/crypto/",
  "lib/",
];

/** Pure: parses modules.dep ("kernel/a.ko.xz: kernel/b.ko.xz kernel/c.ko.xz"). */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const mod = line.slice(0, colon).trim();
    const rest = line.slice(colon + 1).trim();
    deps.set(mod, rest ? rest.split(/\s+/) : []);
  }
  return deps;
}

/** Pure: modules matching the keep-rules, plus everything they depend on. */
export function selectModules(
  deps: ReadonlyMap<string, readonly string[]>,
  keep = KEEP_PREFIXES,
): Set<string> {
  const chosen = new Set<string>();
  const stack = [...deps.keys()].filter((m) => keep.some((p) => m.startsWith(`kernel/${p}`)));
  while (stack.length > 0) {
    const m = stack.pop()!;
    if (chosen.has(m)) continue;
    chosen.add(m);
    for (const d of deps.get(m) ?? []) stack.push(d);
  }
  return chosen;
}

/** Removes unselected modules from `root` (a hard-link copy) and reruns depmod. Returns kept/total. */
export async function pruneModules(
  root: string,
  kernelVersion: string,
): Promise<{ kept: number; total: number }> {
  const dir = join(root, "usr/lib/modules", kernelVersion);
  const depFile = join(dir, "modules.dep");
  let deps: Map<string, string[]>;
  try {
    deps = parseModulesDep(await readFile(depFile, "utf8"));
  } catch (err) {
    throw new Error(`modules: cannot read ${depFile}`, { cause: err });
  }
  const keep = selectModules(deps);
  for (const m of deps.keys()) if (!keep.has(m)) await rm(join(dir, m), { force: true });
  // empty directories are left: harmless, and a few bytes of cpio headers
  // The root's own depmod (trixie's kmod) writes each index to a temp file
  // and renames it, so the hard-linked cached root keeps its originals.
  try {
    await execa("chroot", [root, "/usr/sbin/depmod", kernelVersion]);
  } catch (err) {
    throw new Error(`modules: chroot ${root} depmod ${kernelVersion} failed`, { cause: err });
  }
  return { kept: keep.size, total: deps.size };
}
