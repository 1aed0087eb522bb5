// One read transfer as a state machine: every input (start, ACK, client
// ERROR, timer expiry) goes through a pure function that returns the next
// state and the actions to take. The runner (transfer.ts) only performs them.
//
// Blocks are numbered absolutely from 1 here; on the wire they are mod 65536
// (files past 65535 blocks roll over to 0, as tftpd-hpa and iPXE expect).
//
// Windowing follows RFC 7440: the sender sends `windowsize` blocks and waits;
// an ACK for block n (the last in-order block the client holds) starts the
// next window at n+1, which also covers the "gap" ACK a client sends when a
// block went missing. With windowsize 1 this is plain RFC 1350 lock-step.
//
// Until the peer has answered anything, the transfer might be a spoofed RRQ
// whose every packet lands on a stranger: the first packet (OACK or DATA 1)
// is resent only `firstRetries` times and the give-up is silent. Real
// clients (PXE ROMs, iPXE, tftp-hpa, atftp, curl) answer within
// milliseconds. A transfer that answers but crawls ends at `lifetimeMs`.

export interface SessionParams {
  size: number;
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** Retransmissions of the same window before giving up. */
  maxRetries: number;
  /** Retransmissions of the first packet while the peer has not answered at all. */
  firstRetries: number;
  /** Upper bound for the backed-off retransmission timeout. */
  maxTimeoutMs: number;
  /** A transfer still running this long after its start is ended (the runner keeps the clock). */
  lifetimeMs: number;
  /** True when an OACK must be sent (and ACK 0 awaited) before data. */
  oack: boolean;
}

export interface SessionState {
  phase: "oack" | "data" | "done" | "failed";
  /** Highest block the client has acknowledged (0 before any). */
  acked: number;
  /** Highest block sent so far. */
  sent: number;
  retries: number;
  /** A duplicate ACK already triggered one early resend of this window. */
  dupResent: boolean;
}

export type Action =
  | { kind: "send-oack" }
  | { kind: "send-blocks"; from: number; to: number }
  | { kind: "arm"; ms: number }
  | { kind: "done" }
  | { kind: "fail"; reason: string; error?: { code: number; message: string } };

export interface Step {
  state: SessionState;
  actions: Action[];
}

export function lastBlock(p: SessionParams): number {
  // A file whose size is a multiple of blksize ends with an empty block.
  return Math.floor(p.size / p.blksize) + 1;
}

export function blockRange(p: SessionParams, block: number): { start: number; end: number } {
  const start = (block - 1) * p.blksize;
  return { start, end: Math.min(start + p.blksize, p.size) };
}

function sendWindow(p: SessionParams, s: SessionState, from: number): Step {
  const to = Math.min(from + p.windowsize - 1, lastBlock(p));
  return {
    state: { ...s, phase: "data", sent: Math.max(s.sent, to) },
    actions: [
      { kind: "send-blocks", from, to },
      { kind: "arm", ms: backoff(p, s.retries) },
    ],
  };
}

export function backoff(p: SessionParams, retries: number): number {
  return Math.min(p.timeoutMs * 2 ** retries, Math.max(p.maxTimeoutMs, p.timeoutMs));
}

export function start(p: SessionParams): Step {
  const s: SessionState = { phase: "oack", acked: 0, sent: 0, retries: 0, dupResent: false };
  if (p.oack) {
    return { state: s, actions: [{ kind: "send-oack" }, { kind: "arm", ms: p.timeoutMs }] };
  }
  return sendWindow(p, s, 1);
}

/** Maps a 16-bit ACK number onto the absolute block in [acked, sent], or undefined. */
export function absoluteAck(s: SessionState, wire: number): number | undefined {
  const n = s.acked + ((wire - (s.acked & 0xffff) + 0x10000) & 0xffff);
  return n <= s.sent ? n : undefined;
}

export function onAck(p: SessionParams, s: SessionState, wire: number): Step {
  if (s.phase === "oack") {
    // Only ACK 0 confirms the OACK (RFC 2347); anything else is stale.
    if (wire !== 0) return { state: s, actions: [] };
    return sendWindow(p, { ...s, retries: 0 }, 1);
  }
  if (s.phase !== "data") return { state: s, actions: [] };
  const n = absoluteAck(s, wire);
  if (n === undefined) return { state: s, actions: [] };
  if (n === s.acked) {
    // A duplicate ACK. In lock-step, answering it is the Sorcerer's
    // Apprentice bug (RFC 1123 4.2.3.1): ignore it and let the timer resend.
    // In a window it can mean "first block of the window lost", so resend
    // once per window, which bounds any duplication to 2x.
    if (p.windowsize === 1 || s.dupResent || s.sent === s.acked) return { state: s, actions: [] };
    return sendWindow(p, { ...s, dupResent: true }, n + 1);
  }
  const next: SessionState = { ...s, acked: n, retries: 0, dupResent: false };
  if (n === lastBlock(p)) return { state: { ...next, phase: "done" }, actions: [{ kind: "done" }] };
  return sendWindow(p, next, n + 1);
}

/** True once the peer has acknowledged something (ACK 0 of the OACK counts). */
export function heard(p: SessionParams, s: SessionState): boolean {
  return s.phase !== "oack" && (p.oack || s.acked > 0);
}

export function onTimeout(p: SessionParams, s: SessionState): Step {
  if (s.phase === "done" || s.phase === "failed") return { state: s, actions: [] };
  const retries = s.retries + 1;
  if (!heard(p, s) && retries > Math.min(p.firstRetries, p.maxRetries)) {
    // No ERROR either: it would be one more packet at a possible victim.
    const reason = `no answer to the first packet after ${retries - 1} retransmissions`;
    return { state: { ...s, phase: "failed", retries }, actions: [{ kind: "fail", reason }] };
  }
  if (retries > p.maxRetries) {
    const reason = `no ACK after ${p.maxRetries} retransmissions (last acked block ${s.acked})`;
    return {
      state: { ...s, phase: "failed", retries },
      actions: [{ kind: "fail", reason, error: { code: 0, message: "timed out" } }],
    };
  }
  const next = { ...s, retries };
  if (s.phase === "oack") {
    return {
      state: next,
      actions: [{ kind: "send-oack" }, { kind: "arm", ms: backoff(p, retries) }],
    };
  }
  return sendWindow(p, next, s.acked + 1);
}

export function onExpired(p: SessionParams, s: SessionState): Step {
  if (s.phase === "done" || s.phase === "failed") return { state: s, actions: [] };
  const reason = `transfer exceeded its lifetime of ${p.lifetimeMs / 1000} s (last acked block ${s.acked})`;
  const error = heard(p, s) ? { code: 0, message: "transfer took too long" } : undefined;
  return {
    state: { ...s, phase: "failed" },
    actions: [{ kind: "fail", reason, ...(error ? { error } : {}) }],
  };
}

export function onClientError(s: SessionState, code: number, message: string): Step {
  if (s.phase === "done" || s.phase === "failed") return { state: s, actions: [] };
  // RFC 1350: an ERROR ends the transfer and is never acknowledged or answered.
  return {
    state: { ...s, phase: "failed" },
    actions: [{ kind: "fail", reason: `client sent error ${code}: ${message}` }],
  };
}
