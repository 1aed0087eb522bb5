// What a request says about the client that sent it: PXE or not, firmware
// architecture, iPXE or not, UUID. Pure; tolerant of odd encodings because
// firmware is.
import type { DhcpPacket } from "./codec.ts";
import { macOf } from "./ip.ts";
import { Opt, PxeSub, decodeSubOptions } from "./options.ts";

export interface ClientFacts {
  mac: string;
  /** Option 60 starts with "PXEClient" (firmware PXE, iPXE) or "HTTPClient" (UEFI HTTP boot). */
  vendorClass: "PXEClient" | "HTTPClient" | undefined;
  /** First architecture in option 93, if any. */
  arch: number | undefined;
  /** iPXE: user class (77) "iPXE" or the iPXE option 175 present. */
  ipxe: boolean;
  /** Option 97 as sent (type byte + 16 bytes), echoed in replies. */
  uuidOption: Buffer | undefined;
  /** Canonical UUID text from option 97, for the trace and policy. */
  uuid: string | undefined;
  /** Option 43 sub-option 71 (PXE boot item) on a 4011 request. */
  pxeBootItem: Buffer | undefined;
}

function vendorClassOf(v: Buffer | undefined): ClientFacts["vendorClass"] {
  if (!v) return undefined;
  const s = v.toString("latin1");
  if (s.startsWith("PXEClient")) return "PXEClient";
  if (s.startsWith("HTTPClient")) return "HTTPClient";
  return undefined;
}

/**
 * Option 93 is a list of 16-bit types (RFC 4578 2.1). Some firmware sends
 * only option 60 "PXEClient:Arch:00007:..." (PXE spec), so fall back to it.
 */
function archOf(p: DhcpPacket): number | undefined {
  const v = p.options.get(Opt.clientArch);
  if (v && v.length >= 2) return v.readUInt16BE(0);
  const vc = p.options.get(Opt.vendorClass)?.toString("latin1");
  const m = vc && /^(?:PXE|HTTP)Client:Arch:(\d{5})/.exec(vc);
  return m ? Number(m[1]) : undefined;
}

/**
 * iPXE sends option 77 as the bare string "iPXE" (not RFC 3004 framed), and
 * always sends its encapsulated option 175. Accept RFC 3004 framing too.
 */
function isIpxe(p: DhcpPacket): boolean {
  if (p.options.has(Opt.ipxeEncap)) return true;
  const uc = p.options.get(Opt.userClass);
  if (!uc) return false;
  if (uc.toString("latin1") === "iPXE") return true;
  let i = 0;
  while (i < uc.length) {
    const len = uc[i]!;
    if (uc.subarray(i + 1, i + 1 + len).toString("latin1") === "iPXE") return true;
    i += 1 + len;
  }
  return false;
}

/** RFC 4578 2.5: type 0 then 16 bytes; the text form uses the SMBIOS byte order. */
function uuidOf(v: Buffer | undefined): string | undefined {
  if (!v || v.length !== 17 || v[0] !== 0) return undefined;
  const b = v.subarray(1);
  const hex = (s: Buffer) => s.toString("hex");
  const le = (s: Buffer) => hex(Buffer.from(s).reverse());
  return [
    le(b.subarray(0, 4)),
    le(b.subarray(4, 6)),
    le(b.subarray(6, 8)),
    hex(b.subarray(8, 10)),
    hex(b.subarray(10)),
  ].join("-");
}

export function clientFacts(p: DhcpPacket): ClientFacts {
  const uuidOption = p.options.get(Opt.clientUuid);
  const vendor = p.options.get(Opt.vendorSpecific);
  return {
    mac: macOf(p.chaddr, p.hlen),
    vendorClass: vendorClassOf(p.options.get(Opt.vendorClass)),
    arch: archOf(p),
    ipxe: isIpxe(p),
    uuidOption,
    uuid: uuidOf(uuidOption),
    pxeBootItem: vendor ? decodeSubOptions(vendor).get(PxeSub.bootItem) : undefined,
  };
}
