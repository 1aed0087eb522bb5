// TFTP packet codec (RFC 1350, RFC 2347 OACK). Pure: bytes -> packet -> bytes.
// decode() never throws: anything a hostile or broken peer can send comes back
// as { ok: false, reason } so the socket loop can count it and move on (the
// DHCP codec answers the same way; server/net/decoded.ts says why).
import type { Decoded } from "../net/decoded.ts";

export const OP = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 section 5 + RFC 2347 (code 8). */
export const ERR = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

export type OptionList = Array<[name: string, value: string]>;

export type Packet =
  | { op: "rrq" | "wrq"; filename: string; mode: string; options: OptionList }
  | { op: "data"; block: number; data: Buffer }
  | { op: "ack"; block: number }
  | { op: "error"; code: number; message: string }
  | { op: "oack"; options: OptionList };

export type TftpDecoded = Decoded<Packet>;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Splits `buf` from `start` into NUL-terminated strings; a trailing unterminated tail is returned apart. */
function cStrings(buf: Buffer, start: number): { strings: string[]; tail: number } | string {
  const strings: string[] = [];
  let pos = start;
  while (pos < buf.length) {
    const end = buf.indexOf(0, pos);
    if (end < 0) return { strings, tail: buf.length - pos };
    try {
      strings.push(utf8.decode(buf.subarray(pos, end)));
    } catch {
      return `string at offset ${pos} is not valid UTF-8`;
    }
    pos = end + 1;
  }
  return { strings, tail: 0 };
}

/**
 * Option pairs after filename/mode. Lenient where real firmware forces it:
 * some PXE ROMs pad requests with NUL bytes, so empty names end the list, and
 * a name without a value is ignored rather than failing the whole request.
 */
function optionPairs(strings: string[]): OptionList {
  const out: OptionList = [];
  for (let i = 0; i + 1 < strings.length; i += 2) {
    const name = strings[i] as string;
    if (name === "") break;
    out.push([name, strings[i + 1] as string]);
  }
  return out;
}

function decodeRequest(buf: Buffer, op: "rrq" | "wrq"): TftpDecoded {
  const parts = cStrings(buf, 2);
  if (typeof parts === "string") return { ok: false, reason: `${op}: ${parts}` };
  const [filename, mode, ...rest] = parts.strings;
  if (filename === undefined || mode === undefined) {
    return { ok: false, reason: `${op}: filename and mode must both be NUL-terminated` };
  }
  if (filename === "") return { ok: false, reason: `${op}: empty filename` };
  return {
    ok: true,
    packet: { op, filename, mode: mode.toLowerCase(), options: optionPairs(rest) },
  };
}

function decodeOack(buf: Buffer): TftpDecoded {
  const parts = cStrings(buf, 2);
  if (typeof parts === "string") return { ok: false, reason: `oack: ${parts}` };
  return { ok: true, packet: { op: "oack", options: optionPairs(parts.strings) } };
}

export function decode(buf: Buffer): TftpDecoded {
  if (buf.length < 2)
    return { ok: false, reason: `datagram of ${buf.length} byte(s) is too short` };
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case OP.RRQ:
      return decodeRequest(buf, "rrq");
    case OP.WRQ:
      return decodeRequest(buf, "wrq");
    case OP.DATA:
      if (buf.length < 4) return { ok: false, reason: "data: shorter than 4 bytes" };
      return {
        ok: true,
        packet: { op: "data", block: buf.readUInt16BE(2), data: buf.subarray(4) },
      };
    case OP.ACK:
      if (buf.length < 4) return { ok: false, reason: "ack: shorter than 4 bytes" };
      return { ok: true, packet: { op: "ack", block: buf.readUInt16BE(2) } };
    case OP.ERROR: {
      if (buf.length < 4) return { ok: false, reason: "error: shorter than 4 bytes" };
      // The message should be NUL-terminated; a missing NUL or bad UTF-8 is
      // tolerated because the code alone is enough to end a transfer.
      const end = buf.indexOf(0, 4);
      const message = buf.subarray(4, end < 0 ? buf.length : end).toString("latin1");
      return { ok: true, packet: { op: "error", code: buf.readUInt16BE(2), message } };
    }
    case OP.OACK:
      return decodeOack(buf);
    default:
      return { ok: false, reason: `unknown opcode ${opcode}` };
  }
}

function withStrings(op: number, strings: string[]): Buffer {
  const bodies = strings.map((s) => Buffer.from(s, "utf8"));
  const len = 2 + bodies.reduce((n, b) => n + b.length + 1, 0);
  const out = Buffer.alloc(len);
  out.writeUInt16BE(op, 0);
  let pos = 2;
  for (const b of bodies) {
    b.copy(out, pos);
    pos += b.length + 1; // NUL already there from alloc
  }
  return out;
}

export function encodeRequest(
  op: "rrq" | "wrq",
  filename: string,
  mode: string,
  options: OptionList = [],
): Buffer {
  return withStrings(op === "rrq" ? OP.RRQ : OP.WRQ, [filename, mode, ...options.flat()]);
}

export function encodeOack(options: OptionList): Buffer {
  return withStrings(OP.OACK, options.flat());
}

/** The 4-byte DATA header; the payload is sent beside it (scatter/gather, no copy). */
export function encodeDataHeader(block: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt16BE(OP.DATA, 0);
  out.writeUInt16BE(block & 0xffff, 2);
  return out;
}

export function encodeData(block: number, data: Buffer): Buffer {
  return Buffer.concat([encodeDataHeader(block), data]);
}

export function encodeAck(block: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(OP.ACK, 0);
  out.writeUInt16BE(block & 0xffff, 2);
  return out;
}

export function encodeError(code: number, message: string): Buffer {
  const msg = Buffer.from(message, "utf8");
  const out = Buffer.alloc(5 + msg.length);
  out.writeUInt16BE(OP.ERROR, 0);
  out.writeUInt16BE(code, 2);
  msg.copy(out, 4);
  return out;
}
