// The host file schema: what a person writes in hosts/<name>.yaml (after
// defaults.yaml and `extends:` are merged in). It follows the install spec
// (payload/spec/schema.ts) field for field, with three kinds of difference:
// - hand-written notations are normalised here (any MAC notation -> colon
//   form, "512MiB"/"20G" -> bytes, a /dev/disk/by-id path -> { byId });
// - a few things the spec leaves implicit are said explicitly (layout
//   `create` names the disk it may wipe, /home may name its disk) so the
//   loader can check them;
// - values the server supplies (host, mirror, trusted keys, overlay presence)
//   are optional or absent.
import { z } from "zod";
import {
  abShapeIssues,
  abTriesSchema,
  cryptHashSchema,
  fsTypeSchema,
  groupSchema,
  installSpecSchema,
  networkSchema,
  partRefSchema,
  userSchema,
} from "../../payload/spec/schema.ts";
import { normalizeMac } from "../policy/mac.ts";
import { parseSize } from "./units.ts";

/** Kernel names like /dev/sda move between boots; the spec never accepts them. */
const KERNEL_NAME = /^\/dev\/(sd[a-z]+|vd[a-z]+|hd[a-z]+|xvd[a-z]+|nvme\d+n\d+|mmcblk\d+)\d*$/;

export const sizeField = z
  .union([z.number(), z.string()], {
    error: 'a size such as "512MiB", "20G" or a number of bytes',
  })
  .transform((v, ctx) => {
    const r = parseSize(v);
    if (typeof r === "string") {
      ctx.addIssue({ code: "custom", message: r });
      return z.NEVER;
    }
    return r;
  })
  .meta({ description: 'Bytes, or "512MiB", "20G" (binary) / "500GB" (decimal)' });

/** A size that must not be zero (a disk bound, a partition that is created). */
const positiveSize = sizeField.refine((n) => n > 0, "must be larger than 0");

export const macField = z
  .string({
    error: (iss) =>
      iss.input === undefined
        ? "required"
        : "write the MAC as a quoted string (YAML did not read it as text)",
  })
  .transform((v, ctx) => {
    const mac = normalizeMac(v);
    if (mac === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `"${v}" is not a MAC address (52:54:00:ab:cd:ef, 52-54-00-ab-cd-ef, 5254.00ab.cdef or 525400abcdef)`,
      });
      return z.NEVER;
    }
    return mac;
  });

const diskObject = z
  .object(
    {
      serial: z.string().min(1).optional().meta({ description: "Disk serial (lsblk -o SERIAL)" }),
      byId: z
        .string()
        .regex(/^\/dev\/disk\/by-id\/[^/]+$/, "a /dev/disk/by-id/ path")
        .optional(),
      wwn: z
        .string()
        .regex(/^(0x)?[0-9a-fA-F]+$/, "a WWN in hex") // no /i: JSON Schema patterns have no flags
        .transform((w) => w.toLowerCase())
        .optional(),
      minSize: positiveSize.optional(),
      maxSize: positiveSize.optional(),
    },
    {
      error: (iss) =>
        typeof iss.input === "string"
          ? `"${iss.input}" is a kernel device name, which can change between boots; select the disk by serial, byId, wwn or minSize/maxSize`
          : typeof iss.input === "boolean"
            ? "name the disk (serial, byId, wwn, minSize/maxSize), not just true/false"
            : "a disk selector (serial, byId, wwn, minSize/maxSize)",
    },
  )
  .strict()
  .refine(
    (d) => d.serial || d.byId || d.wwn || d.minSize !== undefined || d.maxSize !== undefined,
    "needs at least one of serial, byId, wwn, minSize/maxSize",
  )
  .refine(
    (d) => d.minSize === undefined || d.maxSize === undefined || d.minSize <= d.maxSize,
    "minSize is larger than maxSize",
  );

/** A disk selector; a bare by-id path is accepted as shorthand for { byId }. */
export const diskField = z.preprocess(
  (v) => (typeof v === "string" && !KERNEL_NAME.test(v) ? { byId: v } : v),
  diskObject,
);
export type HostDiskSelector = z.output<typeof diskObject>;

const keepLayout = z
  .object({
    mode: z.literal("keep"),
    root: partRefSchema.meta({ description: "The root partition to reformat" }),
    esp: partRefSchema.optional(),
    swap: partRefSchema.optional(),
  })
  .strict();

/** The disk a layout may wipe (create, ab create): must select the same disk as `disk`. */
const wipeField = z
  .preprocess((v) => (typeof v === "string" && !KERNEL_NAME.test(v) ? { byId: v } : v), diskObject)
  .meta({ description: "The disk that may be wiped: must select the same disk as `disk`" });

const createLayout = z
  .object({
    mode: z.literal("create"),
    wipe: wipeField,
    espSize: positiveSize.optional(),
    swapSize: sizeField.optional(),
    rootSize: positiveSize.optional().meta({ description: "Absent: the rest of the disk" }),
  })
  .strict();

const abLayout = z
  .object({
    mode: z.literal("ab"),
    wipe: wipeField.optional().meta({
      description:
        "Create a new A/B table on this disk (must select the same disk as `disk`); not with slots",
    }),
    espSize: positiveSize.optional().meta({ description: "UEFI, with wipe (default 512MiB)" }),
    bootSize: positiveSize
      .optional()
      .meta({ description: "BIOS automagic-boot partition, with wipe (default 256MiB)" }),
    swapSize: sizeField.optional().meta({ description: "With wipe (default none)" }),
    slotSize: positiveSize
      .optional()
      .meta({ description: "Each slot, with wipe; absent: half of what is left each" }),
    slots: z
      .object({ a: partRefSchema, b: partRefSchema })
      .strict()
      .optional()
      .meta({ description: "Adopt an existing A/B table: its two root slots; not with wipe" }),
    boot: partRefSchema
      .optional()
      .meta({ description: "BIOS, with slots: the shared partition GRUB lives on" }),
    esp: partRefSchema.optional().meta({ description: "UEFI, with slots: the ESP" }),
    swap: partRefSchema.optional().meta({ description: "With slots" }),
    tries: abTriesSchema.unwrap().optional().meta({
      description: "Boots a new slot gets to confirm before the fallback (1-5, default 3)",
    }),
  })
  .strict()
  .superRefine((l, ctx) => {
    for (const i of abShapeIssues(l, ["espSize", "bootSize", "swapSize", "slotSize"]))
      ctx.addIssue({ code: "custom", ...i });
  });

export const layoutField = z.discriminatedUnion("mode", [keepLayout, createLayout, abLayout], {
  error:
    "needs mode: keep (reformat only root), mode: create (new partition table) or mode: ab (two root slots)",
});

export const homeField = z
  .object({
    ref: partRefSchema,
    fs: fsTypeSchema,
    options: z.string().optional(),
    disk: diskField.optional().meta({
      description: "Where /home lives; lets validation refuse a layout that would wipe it",
    }),
  })
  .strict();

/** A password: a crypt(3) hash, `keep` (the old one), or a reference into the secrets file. */
export const passwordField = z
  .union([z.string(), z.object({ secret: z.string().min(1) }).strict()], {
    error: "a crypt(3) hash, keep, or { secret: NAME }",
  })
  .superRefine((v, ctx) => {
    if (typeof v === "string" && v !== "keep" && !cryptHashSchema.safeParse(v).success) {
      // Never echo the value: it may be someone's real password.
      ctx.addIssue({
        code: "custom",
        message:
          "is neither a crypt(3) hash nor keep (plaintext passwords are refused; make a hash with `mkpasswd -m yescrypt`)",
      });
    }
  });

const hostUser = userSchema.extend({ password: passwordField });

const list = z.array(z.string());
/** Fields whose host-file form is exactly the spec's: validated by the spec's own rules. */
const spec = installSpecSchema.shape;

export const hostFileSchema = z
  .object({
    $schema: z.string().optional().meta({ description: "Ignored; for editors" }),
    extends: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .meta({ description: "Other files in this folder (name without .yaml) merged in first" }),
    hostname: spec.hostname.optional().meta({ description: "Default: the file name" }),
    macs: z.array(macField).min(1, "at least one MAC"),
    firmware: z.enum(["bios", "uefi"]),
    disk: diskField,
    layout: layoutField,
    home: homeField,
    rootfs: fsTypeSchema,
    init: z.enum(["openrc", "systemd"]),
    stage3: z
      .object({
        variant: spec.stage3.shape.variant
          .optional()
          .meta({ description: "Default: the init system" }),
        mirror: spec.stage3.shape.mirror
          .optional()
          .meta({ description: "Default: the server's /mirror/" }),
        trustedKeys: spec.stage3.shape.trustedKeys.optional(),
      })
      .strict()
      .optional(),
    portage: z
      .object({
        profile: z.string().min(1),
        makeConf: z.record(z.string(), z.string()).optional(),
        binhost: z.boolean().optional(),
        sync: z.boolean().optional(),
        packageUse: list.optional(),
        acceptKeywords: list.optional(),
        license: list.optional(),
        mask: list.optional(),
        keepGoing: z.boolean().optional(),
      })
      .strict(),
    locale: spec.locale,
    timezone: spec.timezone,
    keymap: spec.keymap,
    network: networkSchema,
    users: z.array(hostUser).optional(),
    groups: z.array(groupSchema).optional(),
    keepSshHostKeys: z.boolean().optional(),
    kernel: z
      .object({
        package: z.string().optional(),
        cmdline: z.string().optional(),
        linuxFirmware: z.boolean().optional().meta({
          description:
            "Install sys-kernel/linux-firmware (default true); portage.license must accept linux-fw-redistributable for it",
        }),
        intelMicrocode: z.boolean().optional().meta({
          description:
            "Install sys-firmware/intel-microcode (default true); portage.license must accept intel-ucode for it",
        }),
      })
      .strict()
      .optional(),
    packages: list.optional(),
    services: z.object({ enable: list.optional(), disable: list.optional() }).strict().optional(),
    overlay: z
      .object({
        protect: list.optional(),
        /** git keeps only the executable bit, so other modes are listed here. */
        modes: z
          .record(
            z.string().regex(/^\/[^\0]+$/, "an absolute path inside the overlay"),
            z.string().regex(/^0?[0-7]{3}$/, 'an octal mode such as "0440"'),
          )
          .optional()
          .meta({
            description: 'File modes in hosts/<name>/files, e.g. /etc/sudoers.d/wheel: "0440"',
          }),
      })
      .strict()
      .optional(),
    postInstall: z
      .object({
        capture: z
          .union([
            z.boolean(),
            z
              .object({
                to: z
                  .array(z.enum(["home", "server"]))
                  .min(1, "name at least one store: home, server")
                  .refine((l) => new Set(l).size === l.length, "each store once"),
              })
              .strict(),
          ])
          .optional()
          .meta({
            description:
              "Capture the freshly installed system as a system image right after phase 2, in the same run. true = { to: [server] }; `home` writes /home/data/sysimgs/<host>-<stamp>.tar.zst on the machine's own /home",
          }),
      })
      .strict()
      .optional(),
    sysimgs: z
      .object({
        keep: z
          .number()
          .int()
          .min(1)
          .max(100)
          .meta({ description: "System images kept per store (server, /home) for this host" }),
      })
      .strict()
      .optional(),
    inventory: z
      .object({ groups: z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, "a group name")) })
      .strict()
      .optional()
      .meta({ description: "Inventory groups (for Ansible and listings)" }),
    netboot: z
      .object({
        allowFrom: z
          .array(
            z
              .string()
              .regex(
                /^\d{1,3}(\.\d{1,3}){3}(\/([0-9]|[12][0-9]|3[0-2]))?$/,
                'an IPv4 address or CIDR such as "10.2.0.0/24"',
              ),
          )
          .optional()
          .meta({
            description:
              "Addresses this machine may fetch its boot script and run token from when the server cannot tie the address to its MAC (a DHCP relay: not in our leases, not on our segment)",
          }),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A normalised host file. Passwords are still `{ secret }` references until the loader resolves them. */
export type HostFile = z.output<typeof hostFileSchema>;
export type HostFileInput = z.input<typeof hostFileSchema>;
export type HostUser = z.output<typeof hostUser>;
