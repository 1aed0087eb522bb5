// Mirror endpoint configuration, validated once where it is built.
import { z } from "zod";
import { issueLines } from "../../payload/spec/schema.ts";

const fingerprint = z
  .string()
  .transform((s) => s.replace(/\s+/g, "").toUpperCase())
  .pipe(z.string().regex(/^[0-9A-F]{40}$/, "a 40-hex-digit OpenPGP fingerprint"));

export const mirrorConfigSchema = z
  .object({
    /** http(s) URL of a Gentoo mirror, or a local directory in the same layout (the fixture). */
    upstream: z.string().min(1),
    /** Where releases/amd64/binpackages/ comes from (same layout); default: `upstream`. */
    binhostUpstream: z.string().min(1).optional(),
    /** Verified files live here, in the mirror's layout (var/mirror-cache). */
    cacheDir: z.string().min(1),
    /** Primary-key fingerprints a signature must come from. */
    trustedKeys: z.array(fingerprint).min(1),
    /** Holds <FPR>.asc public keys: used to verify, and served at /mirror/keys/. */
    keysDir: z.string().min(1),
    /** "latest" files (pointers, snapshot) are re-fetched when older than this. */
    refreshSeconds: z.number().int().nonnegative().default(3600),
    /**
     * Size limit of the cache (GiB, fractions allowed). A verified unit that
     * would exceed it evicts least recently served units no host file uses;
     * if it still does not fit it is refused (507). No limit when absent.
     */
    maxCacheGiB: z.number().positive().optional(),
  })
  .strict();

export type MirrorConfig = z.infer<typeof mirrorConfigSchema>;
export type MirrorConfigInput = z.input<typeof mirrorConfigSchema>;

export function parseMirrorConfig(input: unknown, source = "mirror config"): MirrorConfig {
  const r = mirrorConfigSchema.safeParse(input);
  if (r.success) return r.data;
  throw new Error(issueLines(r.error, source).join("\n"), { cause: r.error });
}
