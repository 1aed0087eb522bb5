// How much one capture upload may write: at most sysimgs.maxBytes, and never
// the state disk's last sysimgs.keepFree bytes (the state database and the
// DHCP leases live on that disk too). Checked up front when the client sends
// Content-Length, else as the bytes arrive, with statfs.
import { statfs } from "node:fs/promises";
import { Transform, type TransformCallback } from "node:stream";

export interface UploadLimits {
  /** The largest upload kept (sysimgs.maxBytes). */
  maxBytes: number;
  /** Bytes an upload leaves free on the state disk (sysimgs.keepFree). */
  keepFreeBytes: number;
}

export const NO_LIMITS: UploadLimits = { maxBytes: Number.MAX_SAFE_INTEGER, keepFreeBytes: 0 };

/** An upload refused for its size (HTTP 413) or for the disk's free space (507). */
export class UploadRefused extends Error {
  constructor(
    readonly reason: "too-large" | "no-space",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "UploadRefused";
  }
}

/** Bytes an unprivileged writer may still put on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Pure: why `bytes` is over the limit, or undefined. */
export function overMax(bytes: number, limits: UploadLimits): string | undefined {
  return bytes > limits.maxBytes
    ? `${bytes} bytes is more than sysimgs.maxBytes (${limits.maxBytes} bytes)`
    : undefined;
}

/** Pure: why writing `need` more bytes with `free` left is refused, or undefined. */
export function overFree(need: number, free: number, limits: UploadLimits): string | undefined {
  return need > free - limits.keepFreeBytes
    ? `${need} bytes do not fit: ${free} bytes free, of which sysimgs.keepFree keeps ${limits.keepFreeBytes}`
    : undefined;
}

/** Free space is read again at least this often: other uploads share the disk. */
const RECHECK_BYTES = 64 << 20;

/**
 * A pass-through stream that fails with UploadRefused as soon as the bytes
 * through it pass maxBytes or the free space. Between statfs calls it trusts
 * the last reading minus what it passed on since.
 */
export class UploadMeter extends Transform {
  bytes = 0;
  #budget: number;
  #recheckAt = RECHECK_BYTES;

  constructor(
    private readonly what: string,
    private readonly dir: string,
    private readonly limits: UploadLimits,
    freeAtStart: number,
  ) {
    super();
    this.#budget = freeAtStart - limits.keepFreeBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const before = this.bytes;
    this.bytes += chunk.length;
    const max = overMax(this.bytes, this.limits);
    if (max) return cb(new UploadRefused("too-large", `${this.what}: upload refused: ${max}`));
    if (this.bytes <= this.#budget && this.bytes < this.#recheckAt) return cb(null, chunk);
    freeBytes(this.dir).then((free) => {
      this.#budget = before + free - this.limits.keepFreeBytes;
      this.#recheckAt = this.bytes + RECHECK_BYTES;
      const short = overFree(chunk.length, free, this.limits);
      if (!short) return cb(null, chunk);
      cb(
        new UploadRefused(
          "no-space",
          `${this.what}: the state disk (${this.dir}) filled up after ${before} bytes: the next ${short}`,
        ),
      );
    }, cb);
  }
}
