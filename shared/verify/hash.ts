// Streaming digests: SHA512 and BLAKE2B computed while bytes pass through,
// so a download is verified without a second read of a 500 MB file.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Transform, Writable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface FileDigests {
  sha512: string;
  blake2b: string;
  bytes: number;
}

/** A pass-through stream that hashes what flows through it; read digests() after it ends. */
export class DigestTap extends Transform {
  #sha512: Hash = createHash("sha512");
  // Gentoo's BLAKE2B is BLAKE2b-512 (b2sum's default).
  #blake2b: Hash = createHash("blake2b512");
  #bytes = 0;
  #done: FileDigests | undefined;

  /** Feeds bytes that are already on disk (a resumed download) without passing them on. */
  seed(chunk: Buffer): void {
    this.#update(chunk);
  }

  #update(chunk: Buffer): void {
    this.#sha512.update(chunk);
    this.#blake2b.update(chunk);
    this.#bytes += chunk.length;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.#finish();
    cb();
  }

  #finish(): FileDigests {
    this.#done ??= {
      sha512: this.#sha512.digest("hex"),
      blake2b: this.#blake2b.digest("hex"),
      bytes: this.#bytes,
    };
    return this.#done;
  }

  /** The digests of everything seen; finalises the hashes (call once the stream ended). */
  digests(): FileDigests {
    return this.#finish();
  }
}

/** Hashes a whole file. */
export async function hashFile(path: string): Promise<FileDigests> {
  const tap = new DigestTap();
  await pipeline(createReadStream(path), tap, new Writable({ write: (_c, _e, cb) => cb() }));
  return tap.digests();
}
