// Waiting in tests: poll the condition, never sleep a fixed time and hope
// (a loaded CI machine is slower than the one the number was tuned on).

export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll this often (default 20 ms). */
  everyMs?: number;
  /** What the failure says the last try saw. */
  last?: () => string;
}

/**
 * Polls `check` until it returns something other than undefined or false,
 * and returns that; after `timeoutMs` throws naming `what`.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  o: WaitOptions = {},
): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() >= end) {
      const last = o.last ? `\n${o.last()}` : "";
      throw new Error(`${what}: not within ${timeoutMs / 1000} s${last}`);
    }
    await new Promise((r) => setTimeout(r, o.everyMs ?? 20));
  }
}
