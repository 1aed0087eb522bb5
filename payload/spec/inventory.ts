// The hardware inventory a `discover` run reports (POST
// /api/v1/run/:token/inventory): one schema for the payload that builds it
// and the server that stores it. Bounded everywhere: it comes from a machine
// the server may know nothing about (commissioning unknown MACs).
import { z } from "zod";

const text = (max: number) => z.string().max(max);
const bytes = z.number().int().nonnegative();

/** What a partition looks like from its contents, read-only (payload/discover/classify.ts). */
export const partitionRoleSchema = z.enum(["home", "gentoo-root", "os-root", "esp", "swap"]);
export type PartitionRole = z.infer<typeof partitionRoleSchema>;

/** What lsblk and blkid say of any block device, a whole disk or a partition. */
const blockDevice = {
  path: text(200),
  sizeBytes: bytes,
  /** The filesystem on it (on a whole disk: one without a partition table). */
  fstype: text(40).optional(),
  label: text(200).optional(),
  uuid: text(100).optional(),
};

export const inventoryPartitionSchema = z
  .object({
    ...blockDevice,
    number: z.number().int().positive().optional(),
    partlabel: text(200).optional(),
    partuuid: text(100).optional(),
    parttype: text(100).optional(),
    /** Mounted by the RAM system itself (never, unless someone did it by hand). */
    mountpoints: z.array(text(4096)).max(16),
    role: partitionRoleSchema.optional(),
    /** Files (not directories) under a /home-like filesystem; `filesCapped`: the count stopped there. */
    files: z.number().int().nonnegative().optional(),
    filesCapped: z.boolean().optional(),
    /** Top-level directories of a /home-like filesystem with their owners (user dirs). */
    owners: z
      .array(z.object({ name: text(255), uid: z.number().int().nonnegative() }).strict())
      .max(200)
      .optional(),
    /** os-release PRETTY_NAME (or ID) of a root filesystem. */
    os: text(200).optional(),
    /** Why the contents could not be read (a mount refused, an unknown filesystem). */
    unreadable: text(500).optional(),
  })
  .strict();
export type InventoryPartition = z.infer<typeof inventoryPartitionSchema>;

export const inventoryDiskSchema = z
  .object({
    ...blockDevice,
    name: text(100),
    model: text(200).optional(),
    serial: text(200).optional(),
    wwn: text(100).optional(),
    byId: z.array(text(300)).max(32),
    rotational: z.boolean().optional(),
    removable: z.boolean().optional(),
    /** gpt, dos, or absent: no partition table. */
    pttype: text(20).optional(),
    partitions: z.array(inventoryPartitionSchema).max(128),
  })
  .strict();
export type InventoryDisk = z.infer<typeof inventoryDiskSchema>;

export const inventoryNicSchema = z
  .object({
    name: text(15),
    mac: text(17),
    driver: text(100).optional(),
    /** PCI (or USB) address of the device behind it, when it has one. */
    bus: text(100).optional(),
    /** Mb/s, when the link is up and the driver says. */
    speedMbps: z.number().int().positive().optional(),
    link: z.enum(["up", "down", "unknown"]),
    /** The NIC the machine netbooted from. */
    netboot: z.boolean(),
  })
  .strict();
export type InventoryNic = z.infer<typeof inventoryNicSchema>;

/** What the kernel or the bus says did not work: a device without its firmware or its driver. */
export const inventoryProblemSchema = z
  .object({
    kind: z.enum(["firmware-missing", "no-driver", "probe"]),
    /** The device (PCI address, disk path) it is about. */
    device: text(200).optional(),
    driver: text(100).optional(),
    /** The firmware file the driver asked for. */
    file: text(300).optional(),
    message: text(1000),
  })
  .strict();
export type InventoryProblem = z.infer<typeof inventoryProblemSchema>;

export const inventorySchema = z
  .object({
    version: z.literal(1),
    collectedAt: z.string().datetime(),
    firmware: z
      .object({
        mode: z.enum(["bios", "uefi"]),
        /** From the SecureBoot and SetupMode EFI variables; absent under BIOS. */
        secureBoot: z.enum(["enabled", "disabled", "setup-mode", "unknown"]).optional(),
      })
      .strict(),
    cpu: z
      .object({
        model: text(200),
        /** Logical CPUs (threads). */
        count: z.number().int().nonnegative(),
        /** Physical packages. */
        sockets: z.number().int().nonnegative().optional(),
      })
      .strict(),
    memory: z.object({ totalBytes: bytes }).strict(),
    disks: z.array(inventoryDiskSchema).max(64),
    nics: z.array(inventoryNicSchema).max(64),
    problems: z.array(inventoryProblemSchema).max(200),
  })
  .strict();
export type Inventory = z.infer<typeof inventorySchema>;

/** The most an inventory POST may carry (server/http/run-api.ts). */
export const INVENTORY_MAX_BYTES = 512 * 1024;

/** GET /api/v1/run/:token/discover: what the server tells a discover run. */
export const discoverOrderSchema = z
  .object({
    /** After the inventory is stored: power off, or reboot (to the disk: the host is local). */
    then: z.enum(["poweroff", "reboot"]),
    /** The MAC the server served this run to: the NIC that netbooted. */
    mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
    /** The host file's name, when the machine has one. */
    host: z.string().optional(),
  })
  .strict();
export type DiscoverOrder = z.infer<typeof discoverOrderSchema>;

/** One line for the console, the run-done event and `automagic status`. */
export function inventorySummary(inv: Inventory): string {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  const roles = inv.disks.flatMap((d) =>
    d.partitions.filter((p) => p.role).map((p) => `${p.path} ${p.role}`),
  );
  return [
    `${inv.firmware.mode}${inv.firmware.secureBoot ? ` (Secure Boot ${inv.firmware.secureBoot})` : ""}`,
    `${inv.cpu.count} x ${inv.cpu.model}`,
    `${gib(inv.memory.totalBytes)} RAM`,
    `${inv.disks.length} disk(s)${roles.length ? ` [${roles.join(", ")}]` : ""}`,
    `${inv.nics.length} NIC(s)`,
    `${inv.problems.length} problem(s)`,
  ].join(", ");
}
