// Streams a byte range of a file to a response with two fixed buffers per
// transfer, reused from a shared pool: a read fills one buffer while the
// other is being written, and a buffer is only refilled once the socket has
// taken it. Memory per client is 2 x CHUNK whatever the file size, and no
// garbage is made per chunk (createReadStream allocates a new buffer per
// read, which showed up as RSS growing with the number of clients).
import type { FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";

export const CHUNK = 64 * 1024;
const POOL_MAX = 1024;
const pool: Buffer[] = [];

function take(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafe(CHUNK);
}
function give(b: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(b);
}

/** Resolves when `buf` has been handed to the socket, or the client has gone. */
function write(res: ServerResponse, buf: Buffer, gone: Promise<void>): Promise<void> {
  return Promise.race([new Promise<void>((r) => res.write(buf, () => r())), gone]);
}

/** Sends bytes [start, end] (inclusive) of `fh`; returns false if the client went away. */
export async function pumpRange(
  fh: FileHandle,
  start: number,
  end: number,
  res: ServerResponse,
): Promise<boolean> {
  let closed = false;
  const gone = new Promise<void>((r) =>
    res.once("close", () => {
      closed = true;
      r();
    }),
  );
  const bufs: [Buffer, Buffer] = [take(), take()];
  const inFlight: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
  try {
    let pos = start;
    let i: 0 | 1 = 0;
    while (pos <= end && !closed) {
      await inFlight[i]; // the socket is done with this buffer
      if (closed) break;
      const want = Math.min(CHUNK, end - pos + 1);
      const buf = bufs[i]!;
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) throw new Error(`file ended at byte ${pos}, expected ${end + 1}`);
      pos += bytesRead;
      inFlight[i] = write(res, buf.subarray(0, bytesRead), gone);
      i = i === 0 ? 1 : 0;
    }
    await Promise.all(inFlight);
    return !closed;
  } finally {
    // Only return buffers the socket no longer references.
    if (!closed) {
      give(bufs[0]);
      give(bufs[1]);
    }
  }
}
