// Feeds a download's bytes, in file order, to a second consumer (gpg reading
// the signed data on stdin) while they are written to disk, so signature
// checking overlaps the download instead of re-reading the file after it.
// Any gap or repeat (a resumed or restarted download, a consumer that died)
// marks the tee broken: the caller then verifies from the file instead.
import type { Writable } from "node:stream";

export class ByteTee {
  readonly #sink: Writable;
  #offset = 0;
  #broken = false;

  constructor(sink: Writable) {
    this.#sink = sink;
    sink.on("error", () => {
      this.#broken = true;
    });
  }

  /** Bytes `chunk` that start at `offset` of the file. Waits for the consumer (backpressure). */
  async feed(offset: number, chunk: Buffer): Promise<void> {
    if (this.#broken) return;
    if (offset !== this.#offset) {
      this.#broken = true;
      return;
    }
    this.#offset += chunk.length;
    if (this.#sink.write(chunk)) return;
    // A destroyed consumer got nothing and emits no 'drain' (it may have
    // closed already): the tee is broken, and waiting on it would stall.
    if (this.#sink.destroyed) this.#broken = true;
    else await untilDrained(this.#sink);
  }

  /** Closes the consumer's input; true when it saw exactly bytes 0..total-1, in order. */
  end(total: number): boolean {
    if (!this.#sink.destroyed) this.#sink.end();
    return !this.#broken && this.#offset === total;
  }
}

/**
 * Resolves on 'drain', or on 'close'/'error' (a dead consumer must not stall
 * the download), and removes all three listeners whichever fires: a race of
 * events.once() left the losers attached, one pair per backpressure wait, and
 * a 130 MiB stage3 piled up thousands of them (MaxListenersExceededWarning in
 * the mirror bench).
 */
function untilDrained(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off("drain", done);
      sink.off("close", done);
      sink.off("error", done);
      resolve();
    };
    sink.on("drain", done);
    sink.on("close", done);
    sink.on("error", done);
  });
}
