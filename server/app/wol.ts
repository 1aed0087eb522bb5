// Wake-on-LAN: a magic packet (6 x 0xff, then the MAC 16 times) broadcast on
// the served interface only, from a socket bound to that interface's address.
import { createSocket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { broadcastOf } from "../dhcp/ip.ts";
import { normalizeMac } from "../policy/mac.ts";

export function magicPacket(mac: string): Buffer {
  const canonical = normalizeMac(mac);
  if (!canonical) throw new Error(`wake: "${mac}" is not a MAC`);
  const m = Buffer.from(canonical.replace(/:/g, ""), "hex");
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => m)]);
}

/** The interface's first IPv4 address and its broadcast address. */
export function interfaceIpv4(ifname: string): { address: string; broadcast: string } {
  const addrs = networkInterfaces()[ifname]?.filter((a) => a.family === "IPv4") ?? [];
  const a = addrs[0];
  if (!a) throw new Error(`wake: interface ${ifname} has no IPv4 address`);
  const prefixLen = Number(a.cidr?.split("/")[1] ?? 32);
  return { address: a.address, broadcast: broadcastOf(a.address, prefixLen) };
}

export async function sendWake(ifname: string, mac: string, port = 9): Promise<void> {
  const { address, broadcast } = interfaceIpv4(ifname);
  const sock = createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(0, address, () => resolve());
    });
    sock.setBroadcast(true);
    await new Promise<void>((resolve, reject) =>
      sock.send(magicPacket(mac), port, broadcast, (err) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    throw new Error(`wake: ${mac} on ${ifname} (${broadcast}:${port}): ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    sock.close();
  }
}
