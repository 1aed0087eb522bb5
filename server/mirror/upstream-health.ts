// Is the mirror's upstream reachable? Answered from what the cache already
// learned: every real download notes its outcome here. Only when nothing
// was learned for `everyMs` does a question start one cheap probe (HEAD of
// the base URL, or a stat of a directory upstream), in the background, one
// at a time: however often /healthz is asked, upstream sees at most one
// probe per `everyMs`, and the asker never waits for it.
export interface UpstreamStatus {
  /** undefined: nothing known yet (the first probe is under way). */
  up: boolean | undefined;
  detail: string;
}

export interface UpstreamHealthOptions {
  /** Throws when upstream cannot be reached; absent: only downloads tell. */
  probe?: (() => Promise<void>) | undefined;
  everyMs?: number;
  now?: () => number;
}

export class UpstreamHealth {
  #last: { ok: boolean; at: number; detail: string } | undefined;
  #probing = false;
  #probedAt = -Infinity;
  readonly #o: Required<Pick<UpstreamHealthOptions, "everyMs" | "now">> & UpstreamHealthOptions;

  constructor(o: UpstreamHealthOptions = {}) {
    this.#o = { everyMs: 60_000, now: Date.now, ...o };
  }

  /** A download's outcome (ok, or the error that was not "not on upstream"). */
  note(ok: boolean, detail: string): void {
    this.#last = { ok, at: this.#o.now(), detail };
  }

  /** What is known now; may start one background probe (see above). */
  current(): UpstreamStatus {
    const now = this.#o.now();
    const stale = !this.#last || now - this.#last.at >= this.#o.everyMs;
    if (stale && this.#o.probe && !this.#probing && now - this.#probedAt >= this.#o.everyMs)
      this.#startProbe(this.#o.probe);
    if (!this.#last) return { up: undefined, detail: "not checked yet" };
    const ago = Math.round((now - this.#last.at) / 1000);
    return { up: this.#last.ok, detail: `${this.#last.detail} (${ago} s ago)` };
  }

  #startProbe(probe: () => Promise<void>): void {
    this.#probing = true;
    this.#probedAt = this.#o.now();
    probe()
      .then(
        () => this.note(true, "upstream answered a probe"),
        (err: unknown) => this.note(false, `upstream probe failed: ${(err as Error).message}`),
      )
      .finally(() => {
        this.#probing = false;
      });
  }
}
