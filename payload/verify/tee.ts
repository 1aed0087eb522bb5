// Feeds a download's bytes, in file order, to a second consumer (gpg reading
// the signed data on stdin) while they are written to disk, so signature
// checking overlaps the download instead of re-reading the file after it.
// Any gap or repeat (a resumed or restarted download, a consumer that died)
// marks the tee broken: the caller then verifies from the file instead.
import { once } from "node:events";
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
    if (!this.#sink.write(chunk)) {
      // 'close'/'error' also end the wait: a dead consumer must not stall the download.
      await Promise.race([
        once(this.#sink, "drain"),
        once(this.#sink, "close"),
        once(this.#sink, "error"),
      ]).catch(() => {});
    }
  }

  /** Closes the consumer's input; true when it saw exactly bytes 0..total-1, in order. */
  end(total: number): boolean {
    if (!this.#sink.destroyed) this.#sink.end();
    return !this.#broken && this.#offset === total;
  }
}
