// DHCPv4 wire codec (RFC 2131 section 2, RFC 2132, RFC 3396 long options).
// Pure: bytes -> DhcpPacket -> bytes. decode() never throws: a datagram that
// does not parse comes back as { ok: false, reason, field, offset } so the
// socket loop counts and drops it (server/net/decoded.ts says why).
import type { Decoded } from "../net/decoded.ts";
import { ipToInt, readIp } from "./ip.ts";
import { Opt } from "./options.ts";

export const MAGIC_COOKIE = 0x63825363;
/** Fixed BOOTP header before the magic cookie. */
export const HEADER_LEN = 236;
/** RFC 1542 2.1: BOOTP relays and old clients expect at least a 300-byte message. */
export const MIN_PACKET_LEN = 300;

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** All 16 bytes of chaddr; `hlen` says how many are the hardware address. */
  chaddr: Buffer;
  sname: string;
  file: string;
  /** Options in wire order; repeated instances are concatenated (RFC 3396). */
  options: Map<number, Buffer>;
}

/** A failure also names the field (or option area) and the byte offset where parsing stopped. */
export type DhcpDecoded = Decoded<DhcpPacket, { field: string; offset: number }>;
type DhcpDecodeFailure = Extract<DhcpDecoded, { ok: false }>;

function failure(message: string, field: string, offset: number): DhcpDecodeFailure {
  return { ok: false, reason: `${field} at byte ${offset}: ${message}`, field, offset };
}

export const BROADCAST_FLAG = 0x8000;

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul === -1 ? buf.length : nul).toString("latin1");
}

/**
 * Parses one option area, adding each option's value to its code's chunk
 * list in `into`; returns the overload value (option 52) if seen, or the
 * failure.
 */
function parseOptions(
  buf: Buffer,
  base: number,
  area: string,
  into: Map<number, Buffer[]>,
  requireEnd: boolean,
): number | undefined | DhcpDecodeFailure {
  let overload: number | undefined;
  let i = 0;
  while (i < buf.length) {
    const code = buf[i]!;
    if (code === Opt.pad) {
      i += 1;
      continue;
    }
    if (code === Opt.end) return overload;
    if (i + 1 >= buf.length) {
      return failure(`option ${code} has no length byte`, area, base + i);
    }
    const len = buf[i + 1]!;
    if (i + 2 + len > buf.length) {
      return failure(`option ${code} length ${len} runs past the end`, area, base + i);
    }
    const value = buf.subarray(i + 2, i + 2 + len);
    if (code === Opt.overload) {
      if (len !== 1) return failure(`option 52 length ${len}, want 1`, area, base + i);
      overload = value[0];
    } else {
      // Views into the datagram, not copies: node hands every message its own buffer.
      const chunks = into.get(code);
      if (chunks) chunks.push(value);
      else into.set(code, [value]);
    }
    i += 2 + len;
  }
  // Real clients (and RFC 2131) always end the option area with 255, but a
  // few old BOOTP stacks pad to the end instead; only the main area must end.
  if (requireEnd) return failure("no end option (255)", area, base + buf.length);
  return overload;
}

/**
 * RFC 3396: the instances of one code form one value, in the order they were
 * read. Joined once per code here: joining on every repeat copied
 * 1 + 2 + ... + n bytes, ~90 ms of CPU for one datagram of one-byte chunks.
 */
function joinChunks(chunks: Map<number, Buffer[]>): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const [code, parts] of chunks) {
    out.set(code, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
  return out;
}

export function decode(buf: Buffer): DhcpDecoded {
  if (buf.length < HEADER_LEN + 4) {
    return failure(`${buf.length} bytes, need at least ${HEADER_LEN + 4}`, "length", 0);
  }
  const op = buf[0]!;
  if (op !== 1 && op !== 2) return failure(`op ${op}, want 1 or 2`, "op", 0);
  const hlen = buf[2]!;
  if (hlen > 16) return failure(`hlen ${hlen} > 16`, "hlen", 2);
  if (buf.readUInt32BE(HEADER_LEN) !== MAGIC_COOKIE) {
    return failure("magic cookie missing (plain BOOTP?)", "cookie", HEADER_LEN);
  }
  const chunks = new Map<number, Buffer[]>();
  const overload = parseOptions(
    buf.subarray(HEADER_LEN + 4),
    HEADER_LEN + 4,
    "options",
    chunks,
    true,
  );
  if (typeof overload === "object") return overload;
  // RFC 2132 9.3: with overload, `file` (1) and/or `sname` (2) carry options
  // and their text meaning is void.
  let file = cString(buf.subarray(108, 236));
  let sname = cString(buf.subarray(44, 108));
  if (overload !== undefined) {
    if (overload < 1 || overload > 3) {
      return failure(`option 52 value ${overload}`, "overload", HEADER_LEN + 4);
    }
    if (overload & 1) {
      const f = parseOptions(buf.subarray(108, 236), 108, "file", chunks, false);
      if (typeof f === "object") return f;
      file = "";
    }
    if (overload & 2) {
      const f = parseOptions(buf.subarray(44, 108), 44, "sname", chunks, false);
      if (typeof f === "object") return f;
      sname = "";
    }
  }
  return { ok: true, packet: packetOf(buf, op, hlen, sname, file, chunks) };
}

function packetOf(
  buf: Buffer,
  op: number,
  hlen: number,
  sname: string,
  file: string,
  chunks: Map<number, Buffer[]>,
): DhcpPacket {
  return {
    op,
    htype: buf[1]!,
    hlen,
    hops: buf[3]!,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: readIp(buf, 12),
    yiaddr: readIp(buf, 16),
    siaddr: readIp(buf, 20),
    giaddr: readIp(buf, 24),
    chaddr: buf.subarray(28, 44),
    sname,
    file,
    options: joinChunks(chunks),
  };
}

function writeText(out: Buffer, offset: number, size: number, text: string, field: string): void {
  const bytes = Buffer.from(text, "latin1");
  // Leave room for the terminating NUL some firmware requires.
  if (bytes.length >= size)
    throw new Error(`dhcp encode: ${field} '${text}' exceeds ${size - 1} bytes`);
  bytes.copy(out, offset);
}

/** Serialises a packet; options longer than 255 bytes are split (RFC 3396). */
export function encode(p: DhcpPacket): Buffer {
  // Size first, then write everything into one buffer: this runs for every
  // reply, and building it from small parts was a visible share of the loop.
  let optLen = 1; // end option
  for (const [code, value] of p.options) {
    if (code === Opt.pad || code === Opt.end) continue;
    optLen += value.length + 2 * Math.max(1, Math.ceil(value.length / 255));
  }
  const out = Buffer.alloc(Math.max(HEADER_LEN + 4 + optLen, MIN_PACKET_LEN));
  out[0] = p.op;
  out[1] = p.htype;
  out[2] = p.hlen;
  out[3] = p.hops;
  out.writeUInt32BE(p.xid >>> 0, 4);
  out.writeUInt16BE(p.secs, 8);
  out.writeUInt16BE(p.flags, 10);
  out.writeUInt32BE(ipToInt(p.ciaddr), 12);
  out.writeUInt32BE(ipToInt(p.yiaddr), 16);
  out.writeUInt32BE(ipToInt(p.siaddr), 20);
  out.writeUInt32BE(ipToInt(p.giaddr), 24);
  p.chaddr.copy(out, 28, 0, Math.min(16, p.chaddr.length));
  writeText(out, 44, 64, p.sname, "sname");
  writeText(out, 108, 128, p.file, "file");
  out.writeUInt32BE(MAGIC_COOKIE, HEADER_LEN);
  let o = HEADER_LEN + 4;
  for (const [code, value] of p.options) {
    if (code === Opt.pad || code === Opt.end) continue;
    if (value.length === 0) {
      out[o++] = code;
      out[o++] = 0;
      continue;
    }
    // RFC 3396: values over 255 bytes go out as consecutive instances.
    for (let i = 0; i < value.length; i += 255) {
      const n = Math.min(255, value.length - i);
      out[o++] = code;
      out[o++] = n;
      value.copy(out, o, i, i + n);
      o += n;
    }
  }
  out[o] = Opt.end;
  return out;
}

/** The message type (option 53), or undefined for BOOTP / a broken option. */
export function messageType(p: DhcpPacket): number | undefined {
  const v = p.options.get(Opt.messageType);
  return v && v.length === 1 ? v[0] : undefined;
}
