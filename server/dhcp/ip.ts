// IPv4 helpers on plain numbers: pool arithmetic and subnet checks stay
// integer maths, strings exist only at the edges (config, logs, sockets).

export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: '${ip}'`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: '${ip}'`);
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

export function inSubnet(ip: string | number, network: string, prefixLen: number): boolean {
  const a = typeof ip === "number" ? ip : ipToInt(ip);
  const mask = maskOf(prefixLen);
  return (a & mask) >>> 0 === (ipToInt(network) & mask) >>> 0;
}

export function broadcastOf(network: string, prefixLen: number): string {
  return intToIp((ipToInt(network) | ~maskOf(prefixLen)) >>> 0);
}

/** Reads 4 bytes as a dotted quad. */
export function readIp(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export function ipBytes(ip: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(ipToInt(ip), 0);
  return b;
}

/** Canonical MAC text: lower case, colon separated. */
export function macOf(chaddr: Buffer, hlen: number): string {
  const len = Math.min(Math.max(hlen, 0), 16);
  return [...chaddr.subarray(0, len)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}
