// Misbehaving TFTP readers, run inside the client namespace: COUNT sockets
// bound to one address each send an RRQ, then never ACK (a spoofed request:
// whoever owns the address ignores what we send) or ACK every packet late (a
// slow client holding its slot). With `retryMs` they persist, as an attacker
// would: a refused socket asks again, and a never-ACKing one re-sends its
// RRQ (ignored while its transfer runs, a new transfer once it was dropped).
// Prints one JSON line once every socket has had its first answer (or after
// 5 s), then answers `stats` on stdin with a JSON line; `quit` ends it.
//   slow-client.ts '{"host":"10.77.0.1","bind":"10.77.0.3","count":8,"file":"undionly.kpxe","ackMs":500}'
import dgram from "node:dgram";
import { createInterface } from "node:readline";
import { decode, encodeAck, encodeRequest, type OptionList } from "../../../server/tftp/packet.ts";

export interface SlowSpec {
  host: string;
  bind: string;
  count: number;
  file: string;
  options?: OptionList;
  /** ACK each OACK/DATA this late; absent = never ACK. */
  ackMs?: number;
  /** Ask again this long after an ERROR (never-ACKing: every retryMs); absent = ask once. */
  retryMs?: number;
}

export interface SlowStats {
  sockets: number;
  /** RRQs sent. */
  sent: number;
  /** Sockets whose transfer is running (had an OACK or DATA, no ERROR since); a never-ACKing socket is not told when the server drops it, so for those it stays counted. */
  holding: number;
  /** Transfers that ever started. */
  started: number;
  /** ERRORs received instead of a transfer, by message. */
  refused: Record<string, number>;
  /** ERRORs that ended a started transfer, by message. */
  ended: Record<string, number>;
  /** Every datagram received, and per socket. */
  packets: number;
  perSocket: number[];
}

const spec = JSON.parse(process.argv[2] ?? "") as SlowSpec;
const stats: SlowStats = {
  sockets: spec.count,
  sent: 0,
  holding: 0,
  started: 0,
  refused: {},
  ended: {},
  packets: 0,
  perSocket: Array.from({ length: spec.count }, () => 0),
};
const timers = new Set<NodeJS.Timeout>();
const later = (ms: number, fn: () => void) => {
  const t = setTimeout(() => {
    timers.delete(t);
    fn();
  }, ms);
  timers.add(t);
};
const rrq = encodeRequest("rrq", spec.file, "octet", spec.options ?? []);
const ask = (s: dgram.Socket) => {
  stats.sent += 1;
  s.send(rrq, 69, spec.host);
};
let answered = 0;
let onAllAnswered = () => {};

const sockets = await Promise.all(
  Array.from({ length: spec.count }, async (_, i) => {
    const s = dgram.createSocket("udp4");
    s.on("error", () => {});
    await new Promise<void>((r) => s.bind(0, spec.bind, r));
    let first = true;
    /** The server port (TID) of this socket's current transfer; 0 = none known. */
    let tid = 0;
    s.on("message", (msg, rinfo) => {
      stats.packets += 1;
      stats.perSocket[i] = (stats.perSocket[i] ?? 0) + 1;
      if (first) {
        first = false;
        if (++answered === spec.count) onAllAnswered();
      }
      const d = decode(msg);
      if (!d.ok) return;
      const p = d.packet;
      if (p.op === "error") {
        // A refusal comes from a fresh port; an ERROR from the transfer's port ends it.
        const ends = rinfo.port === tid;
        const bucket = ends ? stats.ended : stats.refused;
        bucket[p.message] = (bucket[p.message] ?? 0) + 1;
        if (ends) {
          tid = 0;
          stats.holding -= 1;
        }
        if (spec.retryMs !== undefined && spec.ackMs !== undefined)
          later(spec.retryMs, () => ask(s));
        return;
      }
      if (p.op !== "oack" && p.op !== "data") return;
      if (rinfo.port !== tid) {
        // A new TID: a new transfer (a never-ACKing socket's last one was dropped silently).
        if (tid === 0) stats.holding += 1;
        tid = rinfo.port;
        stats.started += 1;
      }
      const block = p.op === "data" ? p.block : 0;
      if (spec.ackMs !== undefined) {
        later(spec.ackMs, () => s.send(encodeAck(block), rinfo.port, rinfo.address));
      }
    });
    return s;
  }),
);

const ready = new Promise<void>((r) => {
  onAllAnswered = r;
  later(5000, r);
});
for (const s of sockets) ask(s);
if (spec.retryMs !== undefined && spec.ackMs === undefined) {
  const every = setInterval(() => sockets.forEach(ask), spec.retryMs);
  timers.add(every);
}
await ready;
process.stdout.write(`${JSON.stringify(stats)}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "stats") process.stdout.write(`${JSON.stringify(stats)}\n`);
  if (line === "quit") break;
}
for (const t of timers) clearTimeout(t);
for (const s of sockets) s.close();
