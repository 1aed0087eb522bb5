// Streams records into a cpio newc archive. File bodies are read one at a
// time, so a 100 MB binary never sits in memory twice.
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Writable } from "node:stream";
import { once } from "node:events";
import { dataPadding, encodeHeader, trailer } from "./newc.ts";
import { bodySize, type CpioRecord } from "./records.ts";

export interface WriteOptions {
  /** Pad the archive to a multiple of this many bytes (GNU cpio: 512). */
  blockSize?: number;
  /** Called with the bytes written so far, about every `progressEvery` bytes. */
  onProgress?: (bytes: number) => void;
  progressEvery?: number;
}

const SMALL_FILE = 1024 * 1024;

async function put(out: Writable, chunk: Uint8Array): Promise<void> {
  if (!out.write(chunk)) await once(out, "drain");
}

/** Writes the archive; returns its length in bytes. Does not end `out`. */
export async function writeCpio(
  records: Iterable<CpioRecord>,
  out: Writable,
  opts: WriteOptions = {},
): Promise<number> {
  let total = 0;
  const every = opts.progressEvery ?? 32 * 1024 * 1024;
  let nextReport = every;
  for (const r of records) {
    if (opts.onProgress && total >= nextReport) {
      opts.onProgress(total);
      nextReport = total + every;
    }
    const size = bodySize(r.body);
    const head = encodeHeader({ ...r, filesize: size });
    await put(out, head);
    total += head.length;
    if (r.body.kind === "bytes") {
      await put(out, r.body.bytes);
    } else if (r.body.kind === "file" && size <= SMALL_FILE) {
      // one read for the many small files (a stream per file costs ~3x)
      const data = await readFile(r.body.path);
      if (data.length !== size)
        throw new Error(
          `cpio: ${r.body.path} changed size while archiving (${size} -> ${data.length})`,
        );
      await put(out, data);
    } else if (r.body.kind === "file") {
      let read = 0;
      for await (const chunk of createReadStream(r.body.path)) {
        read += (chunk as Buffer).length;
        await put(out, chunk as Buffer);
      }
      if (read !== size)
        throw new Error(`cpio: ${r.body.path} changed size while archiving (${size} -> ${read})`);
    }
    total += size;
    const pad = dataPadding(size);
    if (pad.length) await put(out, pad);
    total += pad.length;
  }
  const end = trailer();
  await put(out, end);
  total += end.length;
  const block = opts.blockSize ?? 0;
  if (block > 0 && total % block !== 0) {
    const fill = Buffer.alloc(block - (total % block));
    await put(out, fill);
    total += fill.length;
  }
  return total;
}
