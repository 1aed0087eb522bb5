// DHCP static reservations come from the host files: a host whose network is
// `static` keeps that address when it netboots too, so the installer, the
// installed system and the inventory all see one address per machine.
import type { HostRegistry } from "../hosts/index.ts";

export function reservationFor(reg: HostRegistry, mac: string): string | undefined {
  const net = reg.byMac(mac)?.raw.network;
  if (net?.mode !== "static") return undefined;
  return net.address.split("/")[0];
}
