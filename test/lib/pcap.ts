// Minimal libpcap reader for golden tests: Ethernet/IPv4/UDP payloads out of
// a capture file written by tcpdump (-w). Enough to replay real packets
// through a codec; not a general pcap library.
import { readFileSync } from "node:fs";

export interface UdpDatagram {
  index: number;
  /** Capture time in seconds (pcap timestamp). */
  ts: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

const ip = (b: Buffer, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

export function readPcapUdp(path: string): UdpDatagram[] {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${path}: not a pcap file (magic ${magic.toString(16)})`);
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  if (linktype !== 1) throw new Error(`${path}: link type ${linktype}, want 1 (Ethernet)`);
  const out: UdpDatagram[] = [];
  let off = 24;
  let index = 0;
  while (off + 16 <= buf.length) {
    const ts =
      u32(off) +
      u32(off + 4) / (magic === 0xa1b23c4d || buf.readUInt32BE(0) === 0xa1b23c4d ? 1e9 : 1e6);
    const capLen = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + capLen);
    off += 16 + capLen;
    index += 1;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (frame[14]! & 0x0f) * 4;
    if (frame[14 + 9] !== 17) continue;
    const udp = 14 + ihl;
    const udpLen = frame.readUInt16BE(udp + 4);
    out.push({
      index,
      ts,
      src: ip(frame, 14 + 12),
      dst: ip(frame, 14 + 16),
      srcPort: frame.readUInt16BE(udp),
      dstPort: frame.readUInt16BE(udp + 2),
      payload: Buffer.from(frame.subarray(udp + 8, udp + udpLen)),
    });
  }
  return out;
}
