// Fuzzer run inside the client namespace: throws COUNT random and mutated
// datagrams at the TFTP server — at port 69 and at the port of a live
// transfer (from its own TID and from foreign ones). Seeded, so a failure
// replays. Prints one JSON line with what it sent.
import dgram from "node:dgram";
import {
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
} from "../../../server/tftp/packet.ts";

const [host, countArg, seedArg] = process.argv.slice(2);
if (!host) throw new Error("usage: fuzz-client.ts HOST [COUNT] [SEED]");
const count = Number(countArg ?? 100_000);
let seed = Number(seedArg ?? 1) >>> 0 || 1;
const rnd = (n: number) => {
  // xorshift32: fast, seeded, good enough to pick mutations
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed % n;
};
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)] as T;

const names = [
  "random-3m.bin",
  "undionly.kpxe",
  "nope",
  "../../etc/passwd",
  "escape",
  "/",
  "a".repeat(300),
  "",
];
const optionSets: Array<[string, string][]> = [
  [],
  [["blksize", "1468"]],
  [
    ["blksize", "7"],
    ["tsize", "x"],
  ],
  [
    ["windowsize", "65535"],
    ["blksize", "65464"],
  ],
  [
    ["timeout", "0"],
    ["timeout", "255"],
  ],
  [["BLKSIZE", "99999999999999999999"]],
];
const seeds = (): Buffer[] => [
  encodeRequest(
    "rrq",
    pick(names),
    pick(["octet", "netascii", "mail", "OCTET", ""]),
    pick(optionSets),
  ),
  encodeRequest("wrq", pick(names), "octet"),
  encodeAck(rnd(65536)),
  encodeData(rnd(65536), Buffer.alloc(rnd(600))),
  encodeError(rnd(10), "x".repeat(rnd(40))),
  encodeOack(pick(optionSets)),
];

function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (rnd(6)) {
    case 0:
      return out.subarray(0, rnd(out.length + 1)); // truncate
    case 1:
      for (let i = rnd(4) + 1; i > 0 && out.length; i--) {
        const k = rnd(out.length);
        out[k] = (out[k] ?? 0) ^ (1 << rnd(8));
      }
      return out;
    case 2:
      for (let i = 0; i < out.length; i++) if (out[i] === 0 && rnd(3) === 0) out[i] = 0x41; // drop terminators
      return out;
    case 3:
      return Buffer.concat([out, Buffer.from(Array.from({ length: rnd(64) }, () => rnd(256)))]);
    case 4:
      if (out.length >= 2) out.writeUInt16BE(rnd(9), 0); // wrong opcode
      return out;
    default:
      return out;
  }
}

function randomDatagram(): Buffer {
  const len = pick([0, 1, 2, 3, 4, 5, rnd(32), rnd(600), rnd(1500)]);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = rnd(256);
  if (len >= 2 && rnd(2) === 0) b.writeUInt16BE(rnd(7), 0);
  return b;
}

const sockets = await Promise.all(
  Array.from({ length: 8 }, async () => {
    const s = dgram.createSocket("udp4");
    s.on("error", () => {});
    await new Promise<void>((r) => s.bind(0, r));
    return s;
  }),
);
// A live transfer to aim at: the first reply tells us its port (the server's TID).
const victim = sockets[0]!;
const transferPort = await new Promise<number>((resolve, reject) => {
  const t = setTimeout(() => reject(new Error("fuzz: no reply to the seed RRQ")), 5000);
  victim.once("message", (_m, rinfo) => {
    clearTimeout(t);
    resolve(rinfo.port);
  });
  victim.send(encodeRequest("rrq", "random-3m.bin", "octet", [["windowsize", "4"]]), 69, host);
});

const sent = { toListener: 0, toTransfer: 0 };
for (let i = 0; i < count; i++) {
  const msg = rnd(2) === 0 ? randomDatagram() : mutate(pick(seeds()));
  const toTransfer = rnd(4) === 0;
  const sock = toTransfer && rnd(2) === 0 ? victim : pick(sockets);
  sock.send(msg, toTransfer ? transferPort : 69, host);
  if (toTransfer) sent.toTransfer += 1;
  else sent.toListener += 1;
  // Pace the flood: unpaced, the kernel drops most of it in the socket
  // buffer and the server never sees what we want it to parse.
  if (i % 32 === 31) await new Promise((r) => setTimeout(r, 1));
}
await new Promise((r) => setTimeout(r, 200));
for (const s of sockets) s.close();
process.stdout.write(`${JSON.stringify({ sent: count, ...sent, transferPort })}\n`);
