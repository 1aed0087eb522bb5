// The socket loop: receive, decode, decide (full.ts / proxy.ts), persist,
// send. Nothing here decides anything; a bad packet is counted and dropped,
// a handler bug is logged and dropped.
import type { BootConfig } from "./boot.ts";
import { decode, encode, messageType, type DhcpPacket } from "./codec.ts";
import { DropLog } from "./drop-log.ts";
import { handleFull, type FullContext } from "./full.ts";
import { zeroDhcpStats, type DhcpHooks, type DhcpStats } from "./hooks.ts";
import { macOf } from "./ip.ts";
import type { LeaseJournal } from "./journal.ts";
import { replyCap } from "./limits.ts";
import { msgTypeName } from "./options.ts";
import type { Outcome } from "./outcome.ts";
import { handleProxy } from "./proxy.ts";
import type { Log } from "../log.ts";
import type { UdpPeer, UdpSocket } from "../net/udp.ts";
import type { Via } from "./socket.ts";

const COMPACT_CHECK_LINES = 10_000;

export interface LoopOptions {
  serverIp: string;
  boot: BootConfig;
  /** Longest datagram the link carries (limits.ts). */
  cap: number;
  full?: FullContext;
  journal?: LeaseJournal;
  hooks: DhcpHooks;
  log: Log;
}

export class DhcpLoop {
  readonly stats: DhcpStats = zeroDhcpStats();
  private readonly drops: Record<"oversized" | "malformed" | "longReply", DropLog>;
  // Broadcast replies leave through the 0.0.0.0 socket; unicast ones (to a
  // relay, to a renewing client) through the socket bound to our address, so
  // they carry our server id as source and a unicast stuck in ARP resolution
  // can never hold up the broadcasts behind it.
  broadcastSock: UdpSocket | undefined;
  unicastSock: UdpSocket | undefined;
  // Renewals append a line each; the journal is rewritten to the live leases
  // once it holds four times as many lines (checked every COMPACT_CHECK_LINES).
  private nextCompactCheck = COMPACT_CHECK_LINES;

  constructor(private readonly o: LoopOptions) {
    const log = o.log;
    this.drops = {
      oversized: new DropLog((x, m) => log.warn(x, m), "oversized datagrams"),
      malformed: new DropLog((x, m) => log.debug(x, m), "malformed datagrams"),
      longReply: new DropLog((x, m) => log.warn(x, m), "replies longer than the client takes"),
    };
  }

  receive(sock: UdpSocket, via: Via, msg: Buffer, rinfo: UdpPeer): void {
    const { stats } = this;
    stats.received += 1;
    // Before decoding: a datagram no client sends costs a length check only.
    if (msg.length > this.o.cap) {
      stats.oversized += 1;
      this.drops.oversized.note({ from: rinfo.address, bytes: msg.length, cap: this.o.cap });
      return;
    }
    const d = decode(msg);
    if (!d.ok) {
      stats.malformed += 1;
      this.drops.malformed.note({ from: rinfo.address, reason: d.reason });
      return;
    }
    const req = d.packet;
    if (req.op !== 1 || messageType(req) === undefined) {
      stats.ignored += 1;
      return;
    }
    const o = this.decide(req, via, rinfo);
    if (!o) return;
    const mac = macOf(req.chaddr, req.hlen);
    this.trace(mac, o, req);
    if (!o.reply) stats.ignored += 1;
    const journal = this.o.journal;
    if (o.persist && journal) {
      this.maybeCompact(journal);
      journal.append(o.persist).then(
        () => o.reply && this.send(sock, via, o, req),
        (err: Error) => {
          stats.errors += 1;
          this.o.log.error({ err, mac }, "dhcp: lease not persisted; no ACK sent");
        },
      );
    } else if (o.reply) {
      this.send(sock, via, o, req);
    }
  }

  close(): void {
    for (const d of Object.values(this.drops)) d.close();
  }

  private decide(req: DhcpPacket, via: Via, rinfo: UdpPeer): Outcome | undefined {
    try {
      // 4011 is answered the proxy way in full mode too: EDK2 (OVMF) treats a
      // PXEClient offer without option 43 as a BINL offer and asks for the boot
      // file again on 4011 (PxeBcRetryBinlOffer); unanswered, it fails PXE-E16.
      return this.o.full && via === "dhcp"
        ? handleFull(req, this.o.full)
        : handleProxy(req, { serverIp: this.o.serverIp, boot: this.o.boot }, via, rinfo);
    } catch (err) {
      this.stats.errors += 1;
      this.o.log.error({ err, from: rinfo.address }, "dhcp: handler failed; packet dropped");
      return undefined;
    }
  }

  private trace(mac: string, o: Outcome, req: DhcpPacket): void {
    const onTrace = this.o.hooks.onTrace;
    if (!onTrace) return;
    try {
      onTrace({
        mac,
        source: "dhcp",
        what: o.trace.what,
        detail: { type: msgTypeName(messageType(req)), ...o.trace.detail },
      });
    } catch (err) {
      this.o.log.error({ err }, "dhcp: onTrace hook failed");
    }
  }

  private send(recv: UdpSocket, via: Via, o: Outcome, req: DhcpPacket): void {
    const r = o.reply!;
    const { stats } = this;
    const sock =
      via === "pxe"
        ? recv
        : r.to.address === "255.255.255.255"
          ? this.broadcastSock!
          : this.unicastSock!;
    try {
      const bytes = encode(r.packet);
      const most = replyCap(req, this.o.cap);
      if (bytes.length > most) {
        stats.errors += 1;
        this.drops.longReply.note({ to: r.to, bytes: bytes.length, most, file: r.packet.file });
        return;
      }
      sock.send(bytes, r.to.port, r.to.address, (err) => {
        if (err) {
          stats.errors += 1;
          this.o.log.warn({ err, to: r.to }, "dhcp: send failed");
        } else stats.replied += 1;
      });
    } catch (err) {
      // Socket already closed (an ACK whose lease write finished after
      // close()) or an encode error: log it, never let it escape the loop.
      stats.errors += 1;
      this.o.log.warn({ err, to: r.to }, "dhcp: reply not sent");
    }
  }

  private maybeCompact(j: LeaseJournal): void {
    if (j.appendedLines < this.nextCompactCheck) return;
    const live = this.o.full!.subnets.flatMap((s) => s.table.bound());
    if (j.appendedLines > 4 * live.length) {
      j.requestCompaction(live.map(({ mac, ip, expires }) => ({ mac, ip, expires })));
      this.nextCompactCheck = COMPACT_CHECK_LINES;
    } else this.nextCompactCheck = j.appendedLines + COMPACT_CHECK_LINES;
  }
}
