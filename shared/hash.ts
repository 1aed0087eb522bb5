// SHA-256, the one implementation: of bytes in memory, of a file, and of a
// stream as it passes (system images). Server, payload and image-builder all
// import it from here (shared/ imports nothing of theirs).
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Transform, Writable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Hex SHA-256 of the parts, as if concatenated. */
export function sha256(...parts: ReadonlyArray<string | Uint8Array>): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/**
 * A pass-through stream that counts bytes and computes their SHA-256.
 * `onBytes` sees the running count, for progress.
 */
export class Sha256Tap extends Transform {
  #hash: Hash = createHash("sha256");
  #bytes = 0;
  #hex: string | undefined;

  constructor(private readonly onBytes?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    this.onBytes?.(this.#bytes);
    cb(null, chunk);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Hex SHA-256 of everything seen; finalises the hash (call once the stream ended). */
  sha256(): string {
    this.#hex ??= this.#hash.digest("hex");
    return this.#hex;
  }
}

/** Hex SHA-256 of a whole file, streamed; a read error names the file and keeps its cause. */
export async function sha256File(path: string): Promise<string> {
  const tap = new Sha256Tap();
  try {
    await pipeline(
      createReadStream(path, { highWaterMark: 1 << 20 }),
      tap,
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
  } catch (err) {
    throw new Error(`${path}: cannot hash: ${(err as Error).message}`, { cause: err });
  }
  return tap.sha256();
}
