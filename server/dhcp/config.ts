// DhcpConfig: the contract `automagic serve` fills in, validated with zod so
// a typo fails at start naming the field, not when a machine boots.
import { z } from "zod";
import { issueLines } from "../../payload/spec/schema.ts";
import { inSubnet, ipToInt } from "./ip.ts";

const ipv4 = z.string().refine((s) => {
  try {
    ipToInt(s);
    return true;
  } catch {
    return false;
  }
}, "not an IPv4 address");

export const subnetSchema = z
  .object({
    network: ipv4,
    prefixLen: z.number().int().min(8).max(30),
    poolStart: ipv4,
    poolEnd: ipv4,
    router: ipv4.optional(),
    dns: z.array(ipv4).optional(),
    leaseSeconds: z.number().int().min(60).max(0x7fffffff).optional(),
  })
  .strict();

const modeSchema = z.enum(["full", "proxy", "off"]);

const bootfilesSchema = z
  .object({
    bios: z.string().min(1).max(127),
    uefi: z.string().min(1).max(127),
    httpBoot: z.string().min(1).optional(),
  })
  .strict();

/** Settings a person may tune; `serve` passes them through from serve.yaml. */
const tunables = {
  port: z.number().int().min(1).max(65535).optional(),
  proxyPort: z.number().int().min(1).max(65535).optional(),
  subnet: subnetSchema.optional(),
  /** Extra subnets served only through relays (chosen by giaddr). */
  relaySubnets: z.array(subnetSchema).optional(),
  tftpServer: ipv4.optional(),
  /**
   * "write" (default): an ACK waits for its lease to be written (survives a
   * server crash, not a power cut; Kea's memfile does the same), synced
   * within 1 s. "fsync": an ACK waits for fdatasync (group commit). See
   * journal.ts for why "write" is the default.
   */
  leaseSync: z.enum(["fsync", "write"]).optional(),
  force: z.boolean().optional(),
  /** How long the start-up probe listens for another server's OFFER (ms). */
  probeMs: z.number().int().min(0).max(30_000).optional(),
};

/**
 * What a person may write under `dhcp:` in serve.yaml: the tunables, the mode
 * and the boot files; `serve` fills in the rest (interface, serverIp,
 * ipxeScriptUrl, leaseFile). Strict all the way down: `subnet.rotuer` or
 * `leaseSecs` is an error naming its path, not a key that silently vanishes.
 */
export const dhcpUserSchema = z
  .object({ mode: modeSchema.default("off"), bootfiles: bootfilesSchema.optional(), ...tunables })
  .strict();

export const dhcpConfigSchema = z
  .object({
    mode: modeSchema,
    interface: z.string().min(1).max(15),
    serverIp: ipv4,
    bootfiles: bootfilesSchema,
    ipxeScriptUrl: z.string().url(),
    leaseFile: z.string().min(1),
    ...tunables,
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mode !== "full") return;
    if (!c.subnet) {
      ctx.addIssue({ code: "custom", path: ["subnet"], message: "required in full mode" });
      return;
    }
    for (const s of [c.subnet, ...(c.relaySubnets ?? [])]) {
      for (const k of ["poolStart", "poolEnd"] as const) {
        if (!inSubnet(s[k], s.network, s.prefixLen)) {
          ctx.addIssue({
            code: "custom",
            path: ["subnet", k],
            message: `${s[k]} is outside ${s.network}/${s.prefixLen}`,
          });
        }
      }
    }
  });

export type DhcpConfig = z.input<typeof dhcpConfigSchema>;

/** A config that passed parseDhcpConfig (defaults filled in). */
export type DhcpSettings = z.output<typeof dhcpConfigSchema>;

export function parseDhcpConfig(cfg: unknown): DhcpSettings {
  const r = dhcpConfigSchema.safeParse(cfg);
  if (!r.success) {
    throw new Error(issueLines(r.error, "dhcp config").join("\n"), { cause: r.error });
  }
  return r.data;
}
