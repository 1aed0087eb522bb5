// Who may hold a run token: only the machine at the other end of the wire.
// A MAC in a query string is a claim, not a credential; the proof is that the
// asking address belongs to that MAC in a table an attacker cannot write
// without layer-2 spoofing: our own DHCP lease (full mode) or the kernel's
// neighbour entry (same segment, any mode). A relayed client in proxy mode is
// in neither, so its host file must name the addresses it may ask from.
import { inSubnet, ipToInt } from "../dhcp/ip.ts";

/** Who the server's own tables say is at an address. */
export interface AddressOwner {
  mac: string;
  via: "lease" | "neighbour";
}

export type AddressProof =
  | { ok: true; via: "lease" | "neighbour" | "allowFrom" | "boot address" }
  | { ok: false; reason: string };

export interface ProofInput {
  /** The address the request came from. */
  ip: string | undefined;
  /** The MACs this address may belong to (the one asked for, or the host's). */
  macs: string[];
  owner: AddressOwner | undefined;
  /** The host file's netboot.allowFrom (CIDR), for relayed clients. */
  allowFrom: string[];
  /** The address the run's boot script went to: the payload may call from it. */
  bootIp?: string;
}

export function proveAddress(p: ProofInput): AddressProof {
  if (!p.ip) return { ok: false, reason: "the request has no peer address" };
  if (p.owner && p.macs.includes(p.owner.mac)) return { ok: true, via: p.owner.via };
  if (p.bootIp !== undefined && p.ip === p.bootIp) return { ok: true, via: "boot address" };
  if (p.allowFrom.some((c) => inCidr(p.ip!, c))) return { ok: true, via: "allowFrom" };
  const macs = p.macs.join(" or ");
  const seen = p.owner
    ? `the ${p.owner.via === "lease" ? "DHCP lease" : "neighbour table"} says ${p.ip} is ${p.owner.mac}, not ${macs}`
    : `${p.ip} is in neither our DHCP leases nor the neighbour table, so nothing ties it to ${macs}`;
  return {
    ok: false,
    reason: `${seen} (a relayed machine needs netboot.allowFrom in its host file)`,
  };
}

/** "10.0.0.0/24" or a plain address; false for anything that is not IPv4. */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split("/");
  const prefix = len === undefined ? 32 : Number(len);
  try {
    ipToInt(ip);
    return inSubnet(ip, net!, prefix);
  } catch {
    return false;
  }
}
