// The DHCP server's sockets. 67 must hear broadcasts, so one socket binds
// 0.0.0.0; unicast to us (relays, renewals) lands on the socket bound to our
// address. 4011 is unicast to our server id, and binding that address makes
// the ACK come from it too (firmware matches the reply's source against the
// server). Every one is bound to the served interface (bind-device.ts).
import { bindToDevice } from "./bind-device.ts";
import { openUdpSocket, type UdpSocket, type UdpSocketFactory } from "../net/udp.ts";

// A rack powering on at once sends a burst; a deeper queue rides it out
// while the event loop is busy (the kernel caps this at rmem_max).
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

export type Via = "dhcp" | "pxe";

export interface DhcpSocket {
  sock: UdpSocket;
  via: Via;
  address: string;
  port: number;
}

/** The default factory: node:dgram, then SO_BINDTODEVICE to `ifname`. */
export function deviceBoundUdp(ifname: string): UdpSocketFactory {
  return async (o) => {
    const sock = await openUdpSocket(o);
    try {
      await bindToDevice(o.port, ifname, o.address);
    } catch (err) {
      sock.close();
      throw err;
    }
    return sock;
  };
}

/** Opens 0.0.0.0:port, serverIp:port and serverIp:proxyPort; on a failure closes the ones opened. */
export async function openDhcpSockets(
  open: UdpSocketFactory,
  serverIp: string,
  port: number,
  proxyPort: number,
): Promise<DhcpSocket[]> {
  const want: Array<[Via, number, string]> = [
    ["dhcp", port, "0.0.0.0"],
    ["dhcp", port, serverIp],
    ["pxe", proxyPort, serverIp],
  ];
  const opened: DhcpSocket[] = [];
  try {
    for (const [via, p, address] of want) {
      const sock = await open({
        type: "udp4",
        address,
        port: p,
        reuseAddr: true,
        broadcast: true,
        recvBufferSize: RECV_BUFFER_BYTES,
      });
      opened.push({ sock, via, address, port: p });
    }
  } catch (err) {
    for (const s of opened) s.sock.close();
    throw err;
  }
  return opened;
}
