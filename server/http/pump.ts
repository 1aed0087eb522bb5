// Streams a byte range of a file to a response with two fixed buffers per
// transfer, reused from a shared pool: a read fills one buffer while the
// other is being written, and a buffer is only refilled once the socket has
// taken it. Memory per client is 2 x CHUNK whatever the file size.
// Callbacks are made once per transfer, not per chunk: with 200 clients the
// per-chunk promises of an async loop were promoted to the old generation
// and RSS grew with run time (docs/PERFORMANCE.md).
import { read } from "node:fs";
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

/** Sends bytes [start, end] (inclusive) of open file `fd`; resolves false if the client went away. */
export function pumpRange(
  fd: number,
  start: number,
  end: number,
  res: ServerResponse,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const bufs = [take(), take()];
    const busy = [false, false];
    let pos = start;
    let turn = 0;
    let reading = false;
    let over = false;

    const finish = (ok: boolean, err?: Error) => {
      if (over) return;
      over = true;
      res.off("close", onClose);
      // A buffer still queued on a dead socket is not reused.
      if (!busy[0]) give(bufs[0]!);
      if (!busy[1]) give(bufs[1]!);
      if (err) reject(err);
      else resolve(ok);
    };
    const onClose = () => finish(false);
    const written = [0, 1].map((k) => () => {
      busy[k] = false;
      next();
    });
    const onRead = [0, 1].map((k) => (err: NodeJS.ErrnoException | null, n: number) => {
      reading = false;
      if (over) return;
      if (err) return finish(false, err);
      if (n === 0)
        return finish(false, new Error(`file ended at byte ${pos}, expected ${end + 1}`));
      pos += n;
      busy[k] = true;
      const b = bufs[k]!;
      res.write(n === b.length ? b : b.subarray(0, n), written[k]);
      next();
    });
    function next(): void {
      if (over || reading) return;
      if (pos > end) {
        if (!busy[0] && !busy[1]) finish(true);
        return;
      }
      const k = turn;
      if (busy[k]) return; // the socket still holds it; its write callback calls next()
      reading = true;
      turn ^= 1;
      read(fd, bufs[k]!, 0, Math.min(CHUNK, end - pos + 1), pos, onRead[k]!);
    }
    res.on("close", onClose);
    next();
  });
}
