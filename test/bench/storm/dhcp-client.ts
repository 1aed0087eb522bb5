// DHCP for many simulated machines through one socket: each machine is a
// MAC and an xid; DISCOVER and REQUEST carry what PXE firmware or iPXE sends
// (option 60 PXEClient, 93 arch, 97 UUID; iPXE adds user class 77 "iPXE").
// The broadcast flag is set, as a client without an address asks, so both
// automagic and dnsmasq answer to 255.255.255.255:68 and the one socket hears
// every machine's replies. Lost packets are retried with the firmware's
// back-off (RFC 2131 4.1: 4 s, 8 s, ...), and every retry is counted.
import dgram from "node:dgram";
import { clientRequest } from "../../../server/dhcp/client-request.ts";
import { decode, encode, messageType, type DhcpPacket } from "../../../server/dhcp/codec.ts";
import { ipBytes, readIp } from "../../../server/dhcp/ip.ts";
import { MsgType, Opt } from "../../../server/dhcp/options.ts";

export interface Lease {
  ip: string;
  serverId: string;
  /** Option 67, else the BOOTP file field. */
  bootfile: string;
  siaddr: string;
  /** DISCOVER and REQUEST retransmissions this exchange needed. */
  retries: number;
}

export interface DhcpAsk {
  mac: string;
  /** Firmware PXE (BIOS, arch 0) or iPXE asking again (user class iPXE). */
  as: "pxe-bios" | "ipxe";
  uuid: string;
}

type Waiter = { want: number; resolve: (p: DhcpPacket) => void };

function uuidOption(uuid: string): Buffer {
  return Buffer.concat([Buffer.from([0]), Buffer.from(uuid.replace(/-/g, ""), "hex")]);
}

function request(ask: DhcpAsk, xid: number, type: number, extra: Array<[number, Buffer]>): Buffer {
  const options = new Map<number, Buffer>([[Opt.messageType, Buffer.from([type])]]);
  const arch = ask.as === "pxe-bios" ? 0 : 7;
  const vc =
    ask.as === "pxe-bios" ? "PXEClient:Arch:00000:UNDI:002001" : "PXEClient:Arch:00007:UNDI:003016";
  options.set(Opt.vendorClass, Buffer.from(vc));
  options.set(Opt.clientArch, Buffer.from([0, arch]));
  options.set(Opt.clientNdi, Buffer.from([1, 2, 1]));
  options.set(Opt.clientUuid, uuidOption(ask.uuid));
  if (ask.as === "ipxe") options.set(Opt.userClass, Buffer.from("iPXE"));
  options.set(Opt.paramRequestList, Buffer.from([1, 3, 6, 43, 60, 66, 67]));
  options.set(Opt.maxMessageSize, Buffer.from([0x05, 0xc0]));
  for (const [k, v] of extra) options.set(k, v);
  const mac = Buffer.from(ask.mac.replace(/:/g, ""), "hex");
  return encode(clientRequest({ xid, mac, broadcast: true, options }));
}

export class StormDhcp {
  readonly #sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
  readonly #waiting = new Map<number, Waiter>();
  #nextXid = (Math.random() * 0x7fffffff) >>> 0;
  /** Replies that matched no exchange in progress (late duplicates). */
  stray = 0;

  async open(): Promise<void> {
    await new Promise<void>((r) => this.#sock.bind(68, "0.0.0.0", r));
    this.#sock.setBroadcast(true);
    this.#sock.on("message", (buf) => {
      const d = decode(buf);
      if (!d.ok) return;
      const p = d.packet;
      const w = this.#waiting.get(p.xid);
      const t = messageType(p);
      if (p.op !== 2 || !w || (t !== w.want && t !== MsgType.nak)) {
        this.stray += 1;
        return;
      }
      this.#waiting.delete(p.xid);
      w.resolve(p);
    });
  }

  close(): void {
    this.#sock.close();
  }

  /** Sends `buf` until a reply of type `want` for `xid` arrives; resolves with it and the retries. */
  async #exchange(xid: number, buf: Buffer, want: number, timeoutsMs: number[]) {
    let retries = 0;
    for (const wait of timeoutsMs) {
      const got = new Promise<DhcpPacket | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiting.delete(xid);
          resolve(undefined);
        }, wait);
        this.#waiting.set(xid, {
          want,
          resolve: (p) => {
            clearTimeout(timer);
            resolve(p);
          },
        });
      });
      this.#sock.send(buf, 67, "255.255.255.255");
      const p = await got;
      if (p) return { p, retries };
      retries += 1;
    }
    throw new Error(`no DHCP ${want === MsgType.offer ? "OFFER" : "ACK"} after ${retries} tries`);
  }

  /** DISCOVER, OFFER, REQUEST, ACK for one machine; throws on NAK or silence. */
  async lease(ask: DhcpAsk, timeoutsMs = [4000, 8000, 16000]): Promise<Lease> {
    const xid = (this.#nextXid = (this.#nextXid + 1) >>> 0);
    const d = await this.#exchange(
      xid,
      request(ask, xid, MsgType.discover, []),
      MsgType.offer,
      timeoutsMs,
    );
    const serverId = d.p.options.get(Opt.serverId);
    if (!serverId) throw new Error(`${ask.mac}: OFFER without a server identifier`);
    const req = request(ask, xid, MsgType.request, [
      [Opt.requestedIp, ipBytes(d.p.yiaddr)],
      [Opt.serverId, serverId],
    ]);
    const a = await this.#exchange(xid, req, MsgType.ack, timeoutsMs);
    if (messageType(a.p) === MsgType.nak) throw new Error(`${ask.mac}: NAK for ${d.p.yiaddr}`);
    const opt67 = a.p.options.get(Opt.bootfileName)?.toString("latin1").replace(/\0+$/, "");
    return {
      ip: a.p.yiaddr,
      serverId: readIp(serverId, 0),
      bootfile: opt67 || a.p.file,
      siaddr: a.p.siaddr,
      retries: d.retries + a.retries,
    };
  }
}
