// DHCP option and message-type numbers used here (RFC 2132, RFC 4578 for
// the PXE ones, RFC 3004 user class, RFC 5071 for iPXE's 175).

export const Opt = {
  pad: 0,
  subnetMask: 1,
  router: 3,
  dns: 6,
  hostname: 12,
  domainName: 15,
  broadcast: 28,
  vendorSpecific: 43,
  requestedIp: 50,
  leaseTime: 51,
  overload: 52,
  messageType: 53,
  serverId: 54,
  paramRequestList: 55,
  message: 56,
  maxMessageSize: 57,
  renewalTime: 58,
  rebindingTime: 59,
  vendorClass: 60,
  clientId: 61,
  tftpServerName: 66,
  bootfileName: 67,
  userClass: 77,
  clientArch: 93,
  clientNdi: 94,
  clientUuid: 97,
  ipxeEncap: 175,
  end: 255,
} as const;

export const MsgType = {
  discover: 1,
  offer: 2,
  request: 3,
  decline: 4,
  ack: 5,
  nak: 6,
  release: 7,
  inform: 8,
} as const;

export type MsgTypeName = keyof typeof MsgType;

export function msgTypeName(n: number | undefined): MsgTypeName | undefined {
  for (const [k, v] of Object.entries(MsgType)) if (v === n) return k as MsgTypeName;
  return undefined;
}

/** RFC 4578 section 2.1 / IANA "Processor Architecture Types" that we act on. */
export const Arch = {
  bios: 0,
  efiIa32: 6,
  efiBc: 7,
  efiX64: 9,
  efiX64Http: 16,
} as const;

/** PXE vendor sub-options inside option 43 (PXE spec 2.1 table 2-1). */
export const PxeSub = {
  discoveryControl: 6,
  bootItem: 71,
} as const;

/** iPXE sub-options inside option 175 (iPXE include/ipxe/dhcp.h). */
export const IpxeSub = {
  /** "Skip PXE DHCP protocol extensions such as ProxyDHCP": iPXE stops waiting for a ProxyDHCP offer. */
  noPxeDhcp: 176,
} as const;

/** Encodes sub-options as code/len/value triples (the format of 43 and 175), with an end marker. */
export function encodeSubOptions(subs: Array<[number, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of subs) parts.push(Buffer.from([code, value.length]), value);
  parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}

/** Decodes code/len/value sub-options; stops at a truncated entry instead of throwing. */
export function decodeSubOptions(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i < buf.length) {
    const code = buf[i]!;
    if (code === 0) {
      i += 1;
      continue;
    }
    if (code === 255 || i + 1 >= buf.length) break;
    const len = buf[i + 1]!;
    if (i + 2 + len > buf.length) break;
    out.set(code, buf.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}
