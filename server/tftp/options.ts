// Option negotiation for a read request (RFC 2347/2348/2349/7440). Pure.
// An option the server cannot honour is left out of the OACK (RFC 2347: the
// client then falls back to the default), never answered with an error.
import type { OptionList } from "./packet.ts";

export interface Limits {
  /** Largest blksize we agree to (RFC 2348 range is 8..65464). */
  maxBlksize: number;
  /** Largest windowsize we agree to (RFC 7440 range is 1..65535). */
  maxWindowsize: number;
  /** Largest `timeout` (seconds) we agree to (RFC 2349 range is 1..255). */
  maxTimeout: number;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  /** Retransmission timeout in ms (RFC 2349 `timeout`, seconds 1..255). */
  timeoutMs: number;
  /** Accepted options in the client's order, values as we answer them; empty = no OACK. */
  oack: OptionList;
}

export const DEFAULT_BLKSIZE = 512;
export const DEFAULT_TIMEOUT_MS = 1000;

function intIn(value: string, min: number, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n >= min && n <= max ? n : undefined;
}

export function negotiate(requested: OptionList, fileSize: number, limits: Limits): Negotiated {
  const out: Negotiated = {
    blksize: DEFAULT_BLKSIZE,
    windowsize: 1,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    oack: [],
  };
  const seen = new Set<string>();
  for (const [rawName, value] of requested) {
    const name = rawName.toLowerCase();
    // RFC 2347 does not define duplicates; the first one wins, the rest are ignored.
    if (seen.has(name)) continue;
    seen.add(name);
    switch (name) {
      case "blksize": {
        // RFC 2348: the server may answer with a smaller size than asked.
        const n = intIn(value, 8, 65464);
        if (n === undefined) break;
        out.blksize = Math.min(n, limits.maxBlksize);
        out.oack.push([rawName, String(out.blksize)]);
        break;
      }
      case "tsize": {
        // RFC 2349: a read request carries 0; we answer with the real size.
        if (intIn(value, 0, Number.MAX_SAFE_INTEGER) === undefined) break;
        out.oack.push([rawName, String(fileSize)]);
        break;
      }
      case "timeout": {
        // RFC 2349: the server must echo the value exactly or leave it out,
        // so a value above our cap is left out (the client then keeps its
        // default, as with tftpd-hpa for out-of-range values). Echoing 255
        // would let one request hold a slot for minutes per retransmission.
        const n = intIn(value, 1, Math.min(255, limits.maxTimeout));
        if (n === undefined) break;
        out.timeoutMs = n * 1000;
        out.oack.push([rawName, String(n)]);
        break;
      }
      case "windowsize": {
        const n = intIn(value, 1, 65535);
        if (n === undefined) break;
        out.windowsize = Math.min(n, limits.maxWindowsize);
        out.oack.push([rawName, String(out.windowsize)]);
        break;
      }
      default:
        break; // unknown options (multicast, utimeout, ...) are ignored
    }
  }
  return out;
}
