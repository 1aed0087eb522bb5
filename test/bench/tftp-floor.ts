// Node's floor for lock-step TFTP, for comparison with server/tftp in
// docs/PERFORMANCE.md: a bare server that answers any RRQ with 512-byte
// blocks of one file, the next block on each matching ACK, from a connected
// socket, with no options, checks, timers or retransmissions. Not a server to
// use; not run by `make bench`.
//   taskset -c 1 npx tsx test/bench/tftp-floor.ts FILE PORT
//   taskset -c 1 tftp -m binary 127.0.0.1 PORT -c get ANY out.bin
import dgram from "node:dgram";
import { readFileSync } from "node:fs";

const [file, port] = process.argv.slice(2);
if (!file || !port) throw new Error("usage: tftp-floor.ts FILE PORT");
const data = readFileSync(file);
const last = Math.floor(data.length / 512) + 1;
const main = dgram.createSocket("udp4");
main.on("message", (_rrq, rinfo) => {
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
