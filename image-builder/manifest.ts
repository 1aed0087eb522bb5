// images/<id>/manifest.json: what an image is made of. The zod schema is the
// contract for readers (the HTTP server serving `images/current`).
import { z } from "zod";

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const compressor = z.object({
  name: z.enum(["zstd", "gzip", "xz", "none"]),
  level: z.number().int(),
});

export const layerSchema = z.object({
  name: z.enum(["base", "runtime", "payload"]),
  key: z.string(),
  compressor,
  cpioBytes: z.number().int(),
  bytes: z.number().int(),
  sha256,
});

export const manifestSchema = z.object({
  schema: z.literal(1),
  id: z.string().regex(/^[0-9]{8}-[0-9]{6}-[0-9a-f]{12}$/),
  createdAt: z.string(),
  inputs: z.object({
    suite: z.string(),
    mirror: z.string(),
    mirrorSnapshot: z.object({ date: z.string(), sha256 }),
    packages: z.array(z.string()),
    payloadEntry: z.string(),
    nodeVersion: z.string(),
    builderSha256: z.string(),
  }),
  kernel: z.object({
    file: z.literal("vmlinuz"),
    version: z.string(),
    bytes: z.number().int(),
    sha256,
  }),
  initrd: z.object({
    file: z.literal("initrd.img"),
    bytes: z.number().int(),
    sha256,
    layers: z.array(layerSchema),
  }),
  payload: z.object({
    bundleBytes: z.number().int(),
    binaryBytes: z.number().int(),
    binarySha256: sha256,
  }),
  /** Kernel arguments the image expects besides automagic.* and BOOTIF (consoles). */
  kernelArgs: z.string(),
  modules: z.object({ kept: z.number().int(), total: z.number().int() }),
  packages: z.array(z.object({ name: z.string(), version: z.string() })),
  totalBytes: z.number().int(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type LayerInfo = z.infer<typeof layerSchema>;

/** Consoles: progress is shown on both the screen and the serial port. */
export const KERNEL_ARGS = "console=tty0 console=ttyS0,115200n8 quiet cryptomgr.notests";

/** Pure: image id from its creation time and content hash (sortable, unique per content). */
export function imageId(createdAt: Date, contentSha256: string): string {
  const s = createdAt.toISOString(); // 2026-11-27T10:08:09.123Z
  return `${s.slice(0, 10).replace(/-/g, "")}-${s.slice(11, 19).replace(/:/g, "")}-${contentSha256.slice(0, 12)}`;
}
