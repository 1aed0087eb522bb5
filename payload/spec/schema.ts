// The install spec: the one contract between server and payload.
// The server resolves a host file (defaults, extends, secrets) into this
// shape; the payload validates what it receives with the same schema.
// Everything here is normalised: MACs lower-case with colons, sizes in bytes.
import { z } from "zod";

export const SPEC_VERSION = 1;

/** Gentoo Release Engineering "Automated Weekly Release Key" (primary). */
export const GENTOO_RELEASE_KEY = "13EBBDBEDE7A12775DFDB1BABB572E0E2D182910";
/** Gentoo's repository snapshot signing key (snapshots/gentoo-latest.tar.xz.gpgsig). */
export const GENTOO_SNAPSHOT_KEY = "DCD05B71EAB94199527F44ACDB6B8C1F96D8BF6D";
/** What a real Gentoo install must trust: stages and the snapshot are signed by different keys. */
export const GENTOO_KEYS = [GENTOO_RELEASE_KEY, GENTOO_SNAPSHOT_KEY];

export const macSchema = z
  .string()
  .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, "a MAC as six lower-case hex pairs joined by ':'");

const name = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "a POSIX user/group name");
const fingerprint = z.string().regex(/^[0-9A-F]{40}$/, "a 40-hex-digit OpenPGP fingerprint");
const absPath = z.string().regex(/^\/[^\0]*$/, "an absolute path");

/** Selects the target disk by a stable property, never by kernel name alone. */
export const diskSelectorSchema = z
  .object({
    serial: z.string().min(1).optional(),
    byId: z
      .string()
      .regex(/^\/dev\/disk\/by-id\/[^/]+$/, "a /dev/disk/by-id/ path")
      .optional(),
    wwn: z
      .string()
      .regex(/^(0x)?[0-9a-f]+$/i, "a WWN in hex")
      .optional(),
    minBytes: z.number().int().positive().optional(),
    maxBytes: z.number().int().positive().optional(),
  })
  .strict()
  .refine(
    (d) => d.serial || d.byId || d.wwn || d.minBytes !== undefined || d.maxBytes !== undefined,
    "needs at least one of serial, byId, wwn, minBytes/maxBytes",
  );
export type DiskSelector = z.infer<typeof diskSelectorSchema>;

/** Finds a partition by a stable identifier. */
export const partRefSchema = z
  .object({
    uuid: z.string().min(1).optional(),
    partuuid: z.string().min(1).optional(),
    label: z.string().min(1).optional(),
    partlabel: z.string().min(1).optional(),
  })
  .strict()
  .refine(
    (p) => [p.uuid, p.partuuid, p.label, p.partlabel].filter(Boolean).length === 1,
    "give exactly one of uuid, partuuid, label, partlabel",
  );
export type PartRef = z.infer<typeof partRefSchema>;

export const fsTypeSchema = z.enum(["ext4", "xfs", "btrfs"]);
export type FsType = z.infer<typeof fsTypeSchema>;

/** keep: reuse the existing table, reformat only root (and never /home). */
export const keepLayoutSchema = z
  .object({
    mode: z.literal("keep"),
    root: partRefSchema,
    esp: partRefSchema.optional(),
    swap: partRefSchema.optional(),
  })
  .strict();

/** create: write a fresh GPT on the target disk. `wipe` must be true. */
export const createLayoutSchema = z
  .object({
    mode: z.literal("create"),
    wipe: z.literal(true),
    espBytes: z
      .number()
      .int()
      .positive()
      .default(512 * 1024 * 1024),
    swapBytes: z.number().int().nonnegative().default(0),
    rootBytes: z.number().int().positive().optional(), // absent: the rest of the disk
  })
  .strict();

/** The two root slots of an A/B layout. */
export const AB_SLOTS = ["a", "b"] as const;
export type AbSlot = (typeof AB_SLOTS)[number];
/** Boots a slot under trial gets before GRUB falls back (ab-design.md). */
export const abTriesSchema = z.number().int().min(1).max(5).default(3);

/**
 * The two shapes of layout `ab`, by the names each form gives its fields (the
 * spec's `espBytes`, the host file's `espSize`): `wipe` creates a fresh A/B
 * table, `slots` adopts an existing one. Pure; used by both schemas' refine.
 */
export function abShapeIssues(
  l: Record<string, unknown>,
  createOnly: readonly string[],
): { path: string[]; message: string }[] {
  const out: { path: string[]; message: string }[] = [];
  const has = (k: string) => l[k] !== undefined;
  if (has("wipe") && has("slots"))
    out.push({
      path: ["slots"],
      message:
        "give either wipe (create a new A/B table) or slots (adopt an existing one), not both",
    });
  else if (!has("wipe") && !has("slots"))
    out.push({
      path: [],
      message:
        "mode ab needs wipe (create a new A/B table on the disk) or slots: { a, b } (adopt an existing one)",
    });
  else if (has("wipe")) {
    for (const k of ["boot", "esp", "swap"])
      if (has(k))
        out.push({
          path: [k],
          message: `only with slots (adopting a table); wipe creates the ${k} partition itself`,
        });
  } else {
    for (const k of createOnly)
      if (has(k)) out.push({ path: [k], message: "only with wipe (creating a new A/B table)" });
    const s = l.slots as { a?: unknown; b?: unknown } | undefined;
    if (s && JSON.stringify(s.a) === JSON.stringify(s.b))
      out.push({ path: ["slots", "b"], message: "is the same partition as slots.a" });
  }
  return out;
}

/** The spec defaults of an `ab` create (ab-design.md). */
export const AB_CREATE_DEFAULTS = {
  espBytes: 512 * 1024 * 1024,
  bootBytes: 256 * 1024 * 1024,
  swapBytes: 0,
} as const;

/**
 * ab: two root slots; an install writes only the one not running / not the
 * default. `wipe: true` creates the table (slotBytes absent: half of what
 * is left each); `slots` adopts an existing one (boot on BIOS, esp on UEFI).
 */
export const abLayoutSchema = z
  .object({
    mode: z.literal("ab"),
    wipe: z.literal(true).optional(),
    espBytes: z.number().int().positive().optional(),
    bootBytes: z.number().int().positive().optional(),
    swapBytes: z.number().int().nonnegative().optional(),
    slotBytes: z.number().int().positive().optional(),
    slots: z.object({ a: partRefSchema, b: partRefSchema }).strict().optional(),
    boot: partRefSchema.optional(),
    esp: partRefSchema.optional(),
    swap: partRefSchema.optional(),
    tries: abTriesSchema,
  })
  .strict()
  .superRefine((l, ctx) => {
    for (const i of abShapeIssues(l, ["espBytes", "bootBytes", "swapBytes", "slotBytes"]))
      ctx.addIssue({ code: "custom", ...i });
  });
export type AbLayout = z.infer<typeof abLayoutSchema>;

export const layoutSchema = z.discriminatedUnion("mode", [
  keepLayoutSchema,
  createLayoutSchema,
  abLayoutSchema,
]);
export type Layout = z.infer<typeof layoutSchema>;

export const homeSchema = z
  .object({
    ref: partRefSchema,
    fs: fsTypeSchema,
    options: z.string().default("defaults"),
  })
  .strict();

/** The name the installed system gives the NIC with the host's MAC (default lan0). */
const ifname = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/,
    "an interface name: a letter, then up to 14 of A-Z a-z 0-9 _ . -",
  )
  .optional();

export const networkSchema = z.discriminatedUnion("mode", [
  z.object({ mode: z.literal("dhcp"), interface: ifname }).strict(),
  z
    .object({
      mode: z.literal("static"),
      interface: ifname,
      address: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an IPv4 address with /prefix"),
      gateway: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, "an IPv4 address"),
      dns: z.array(z.string()).default([]),
    })
    .strict(),
]);

/** crypt(3) hashes only ($6$, $5$, $y$, $2b$ ...), "!"/"*" for locked, or keep the old one. */
export const cryptHashSchema = z
  .string()
  .regex(/^(\$(1|5|6|y|gy|7|2[abxy]?)\$\S+|!|\*|!\*)$/, "a crypt(3) hash, '!' or '*'");
export const passwordSchema = z.union([z.literal("keep"), cryptHashSchema]);

export const userSchema = z
  .object({
    name,
    uid: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31),
    gid: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31),
    groups: z.array(name).default([]),
    shell: absPath.default("/bin/bash"),
    home: absPath.optional(), // default /home/<name> (root: /root)
    password: passwordSchema,
    authorizedKeys: z
      .array(z.string().regex(/^(ssh|ecdsa|sk)-\S+ \S+/, "an OpenSSH public key"))
      .default([]),
  })
  .strict();
export type User = z.infer<typeof userSchema>;

export const groupSchema = z
  .object({
    name,
    gid: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31),
  })
  .strict();

export const portageSchema = z
  .object({
    profile: z.string().min(1),
    makeConf: z.record(z.string(), z.string()).default({}),
    binhost: z.boolean().default(true),
    /** The binhost as the payload reaches it (the server's verifying cache of
     *  releases/amd64/binpackages/<release>/<isa>/); the server fills it in. */
    binhostUrl: z.string().url().optional(),
    sync: z.boolean().default(false), // emerge --sync in phase 2 (never twice a day)
    packageUse: z.array(z.string()).default([]),
    acceptKeywords: z.array(z.string()).default([]),
    license: z.array(z.string()).default([]),
    mask: z.array(z.string()).default([]),
    keepGoing: z.boolean().default(true),
  })
  .strict();

const captureTo = z.object({ to: z.array(z.enum(["home", "server"])).min(1) }).strict();
export type CaptureTo = z.infer<typeof captureTo>["to"];

/** A committed system image as a store lists it (server/sysimgs, /home/data/sysimgs). */
export const sysimgMetaSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/),
    host: z.string(),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    created: z.string(),
  })
  .passthrough();
export type SysimgMeta = z.infer<typeof sysimgMetaSchema>;

export const runSpecSchema = z
  .object({
    /** capture: the image's name (the same in every store) and where it goes. */
    capture: z
      .object({
        name: sysimgMetaSchema.shape.name,
        to: captureTo.shape.to,
        /** The netboot image the server serves (the RAM system doing the capture). */
        ramImage: z.string().optional(),
      })
      .strict()
      .optional(),
    /** deploy: the image asked for (a name, latest or previous) and the server's images of this host. */
    deploy: z
      .object({ image: z.string(), server: z.array(sysimgMetaSchema) })
      .strict()
      .optional(),
  })
  .strict();
export type RunSpec = z.infer<typeof runSpecSchema>;

export const installSpecSchema = z
  .object({
    version: z.literal(SPEC_VERSION),
    host: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "a host name"),
    hostname: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/, "a hostname"),
    macs: z.array(macSchema).min(1),
    firmware: z.enum(["bios", "uefi"]),
    disk: diskSelectorSchema,
    layout: layoutSchema,
    home: homeSchema,
    rootfs: fsTypeSchema,
    init: z.enum(["openrc", "systemd"]),
    stage3: z
      .object({
        variant: z.string().regex(/^[a-z0-9-]+$/),
        /** Base URL of a Gentoo-mirror-shaped tree, as the payload reaches it (the server's cache). */
        mirror: z.string().url(),
        /** Primary-key fingerprints whose VALIDSIG is accepted. */
        trustedKeys: z.array(fingerprint).min(1),
      })
      .strict(),
    portage: portageSchema,
    locale: z
      .object({
        locales: z.array(z.string()).min(1), // locale.gen lines, e.g. "en_US.UTF-8 UTF-8"
        lang: z.string().min(1), // e.g. "en_US.UTF-8"
      })
      .strict(),
    timezone: z.string().regex(/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, "a zoneinfo name"),
    keymap: z.string().min(1),
    network: networkSchema,
    users: z.array(userSchema).default([]),
    groups: z.array(groupSchema).default([]),
    keepSshHostKeys: z.boolean().default(false),
    kernel: z
      .object({
        package: z.string().default("sys-kernel/gentoo-kernel-bin"),
        cmdline: z.string().default(""),
        /** sys-kernel/linux-firmware (its licence must be accepted in portage.license). */
        linuxFirmware: z.boolean().default(true),
        /** sys-firmware/intel-microcode (its licence must be accepted in portage.license). */
        intelMicrocode: z.boolean().default(true),
      })
      .strict(),
    packages: z.array(z.string()).default([]),
    services: z
      .object({
        enable: z.array(z.string()).default([]),
        disable: z.array(z.string()).default([]),
      })
      .strict(),
    overlay: z
      .object({
        /** Whether hosts/<host>/files/ exists; the tree itself comes from the run's overlay endpoint. */
        present: z.boolean(),
        /** Paths the overlay must never overwrite. */
        protect: z.array(absPath).default([]),
      })
      .strict(),
    postInstall: z
      .object({
        /** Capture right after phase 2, in the same run, into these stores. */
        capture: z.union([z.literal(false), captureTo]).default(false),
      })
      .strict(),
    /** Images kept per store for this host (none removed when absent). */
    sysimgs: z
      .object({ keep: z.number().int().min(1).optional() })
      .strict()
      .default({}),
    /** What this run does beyond the host file: the server fills it for capture and deploy. */
    run: runSpecSchema.optional(),
  })
  .strict();

export type InstallSpec = z.infer<typeof installSpecSchema>;
export type InstallSpecInput = z.input<typeof installSpecSchema>;

/** Parses a spec and returns it, or throws an Error whose lines are `path: reason`. */
export function parseInstallSpec(data: unknown, source = "spec"): InstallSpec {
  const r = installSpecSchema.safeParse(data);
  if (r.success) return r.data;
  throw new Error(issueLines(r.error, source).join("\n"), { cause: r.error });
}

/**
 * The one way a zod error becomes text: a line per issue, `source: path:
 * reason`, the path as formatPath prints it (users[1].uid).
 */
export function issueLines(
  error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> },
  source: string,
): string[] {
  return error.issues.map((i) => `${source}: ${formatPath(i.path)}: ${i.message}`);
}

/** users[1].uid style paths, as every error message in automagic prints them. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(root)" : out;
}
