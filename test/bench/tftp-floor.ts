// Node's floor for lock-step TFTP, run beside server/tftp and tftpd-hpa by
// tftp.bench.ts: a bare server that answers an RRQ for a file in ROOT with
// 512-byte blocks, the next block on each matching ACK, from a connected
// socket, with no options, checks, timers or retransmissions. It is what any
// Node server must at least spend per packet; not a server to use.
//   taskset -c 1 npx tsx test/bench/tftp-floor.ts ROOT PORT
//   taskset -c 1 tftp -m binary 127.0.0.1 PORT -c get FILE out.bin
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";

const [root, port] = process.argv.slice(2);
if (!root || !port) throw new Error("usage: tftp-floor.ts ROOT PORT");
const main = dgram.createSocket("udp4");
main.on("message", (rrq, rinfo) => {
  // RRQ: opcode, filename NUL, mode NUL. basename() keeps it inside ROOT.
  const name = basename(rrq.subarray(2, rrq.indexOf(0, 2)).toString("latin1"));
  const data = readFileSync(join(root, name));
  const last = Math.floor(data.length / 512) + 1;
  const s = dgram.createSocket("udp4");
  const send = (b: number) => {
    const h = Buffer.allocUnsafe(4);
    h.writeUInt16BE(3, 0);
    h.writeUInt16BE(b & 0xffff, 2);
    s.send([h, data.subarray((b - 1) * 512, Math.min(b * 512, data.length))]);
  };
  let block = 1;
  s.on("message", (m) => {
    if (m.readUInt16BE(2) !== (block & 0xffff)) return;
    if (block === last) return s.close();
    send(++block);
  });
  s.bind(0, "127.0.0.1", () => s.connect(rinfo.port, rinfo.address, () => send(1)));
});
main.bind(Number(port), "127.0.0.1");
