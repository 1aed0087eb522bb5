// Before `full` mode starts: is another DHCP server already answering on
// this interface? Send one DISCOVER and listen for OFFERs. Two servers
// handing out addresses on one segment is how a lab network breaks.
import { createSocket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { bindToDevice } from "./bind-device.ts";
import { clientRequest } from "./client-request.ts";
import { decode, encode, messageType } from "./codec.ts";
import { readIp } from "./ip.ts";
import { MsgType, Opt } from "./options.ts";
import { CLIENT_PORT, SERVER_PORT } from "./reply.ts";

export interface ProbeResult {
  serverId: string;
  from: string;
}

export function probeDiscover(xid: number, mac: Buffer): Buffer {
  return encode(
    clientRequest({
      xid,
      mac,
      broadcast: true,
      options: [
        [Opt.messageType, Buffer.from([MsgType.discover])],
        [Opt.paramRequestList, Buffer.from([Opt.subnetMask, Opt.router])],
      ],
    }),
  );
}

export async function probeForOtherServer(
  ifname: string,
  waitMs: number,
  ports = { client: CLIENT_PORT, server: SERVER_PORT },
): Promise<ProbeResult | undefined> {
  const sock = createSocket({ type: "udp4", reuseAddr: true });
  const xid = randomBytes(4).readUInt32BE(0);
  // Locally administered unicast MAC, so the probe never collides with a real client.
  const mac = randomBytes(6);
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  try {
    await new Promise<void>((res, rej) => {
      sock.once("error", rej);
      sock.bind(ports.client, "0.0.0.0", () => res());
    });
    await bindToDevice(ports.client, ifname);
    sock.setBroadcast(true);
    const found = new Promise<ProbeResult | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      sock.on("message", (msg, rinfo) => {
        const d = decode(msg);
        if (!d.ok) return; // not a DHCP reply; keep listening
        const p = d.packet;
        const sid = p.options.get(Opt.serverId);
        if (p.op !== 2 || p.xid !== xid || messageType(p) !== MsgType.offer) return;
        clearTimeout(timer);
        resolve({
          serverId: sid && sid.length === 4 ? readIp(sid, 0) : "?",
          from: rinfo.address,
        });
      });
    });
    sock.send(probeDiscover(xid, mac), ports.server, "255.255.255.255");
    return await found;
  } finally {
    sock.close();
  }
}
