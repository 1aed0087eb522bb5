// Run inside the client namespace: throws --count datagrams at --to
// ADDR:PORT: random bytes, mutations of real captured packets (bit flips,
// truncation, corrupted option lengths, garbage tails) and random but
// well-formed DHCP messages. Deterministic for a given --seed. Paced in
// bursts so the kernel does not just drop them before the server sees them.
//   --big-every N: every Nth datagram is a long one made of one-byte
//     instances of one option (RFC 3396), alternately the longest UDP
//     payload (65,507 bytes) and the longest a 1500-byte link carries (1,472)
//   --rate R: R datagrams per second instead of bursts of 50 every 2 ms
// Prints {sent, seconds} as one JSON line.
import { createSocket } from "node:dgram";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readPcapUdp } from "../../lib/pcap.ts";

const { values } = parseArgs({
  options: {
    to: { type: "string", default: "10.77.0.1:67" },
    count: { type: "string", default: "100000" },
    seed: { type: "string", default: "1" },
    "big-every": { type: "string", default: "0" },
    rate: { type: "string", default: "0" },
  },
});
const [addr, port] = values.to.split(":");
const count = Number(values.count);
const bigEvery = Number(values["big-every"]);
const rate = Number(values.rate);

// xorshift32: fast and reproducible.
let state = Number(values.seed) >>> 0 || 1;
function rnd(n: number): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state % n;
}
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rnd(256)));

const fixtures = join(import.meta.dirname, "../../fixtures/dhcp");
const seeds = readdirSync(fixtures)
  .filter((f) => f.endsWith(".pcap"))
  .flatMap((f) => readPcapUdp(join(fixtures, f)).map((d) => d.payload));

function mutate(seed: Buffer): Buffer {
  const b = Buffer.from(seed);
  switch (rnd(6)) {
    case 0: // bit flips
      for (let i = 0, n = 1 + rnd(8); i < n; i += 1) b[rnd(b.length)]! ^= 1 << rnd(8);
      return b;
    case 1: // truncation
      return b.subarray(0, rnd(b.length));
    case 2: {
      // corrupt an option length byte
      const i = 240 + rnd(Math.max(1, b.length - 240));
      b[i] = rnd(256);
      return b;
    }
    case 3: // garbage tail instead of the end option
      return Buffer.concat([b.subarray(0, 240 + rnd(40)), bytes(rnd(300))]);
    case 4: // header fields anywhere
      b.writeUInt8(rnd(256), rnd(44));
      return b;
    default: {
      // a valid header with random options (types, overload, long values)
      const opts: number[] = [];
      for (let i = 0, n = rnd(20); i < n; i += 1) {
        const code = [53, 52, 50, 54, 60, 61, 77, 93, 97, 43, 175, 55, rnd(256)][rnd(13)]!;
        const len = rnd(5) === 0 ? rnd(256) : rnd(18);
        opts.push(code, len, ...bytes(len));
      }
      if (rnd(4)) opts.push(255);
      return Buffer.concat([b.subarray(0, 240), Buffer.from(opts)]);
    }
  }
}

/** The longest UDP payload over IPv4, and the longest a 1500-byte MTU carries unfragmented. */
const BIG_SIZES = [65_507, 1_472];
let bigs = 0;

/** A seed's header, option 53, then one-byte instances of one option up to `size` bytes. */
function repeatedOptions(size: number): Buffer {
  const out = Buffer.alloc(size);
  seeds[rnd(seeds.length)]!.copy(out, 0, 0, 240);
  out.set([53, 1, 1 + rnd(8)], 240);
  const code = [60, 77, 43, 97, 224][rnd(5)]!;
  let o = 243;
  for (; o + 4 <= size; o += 3) out.set([code, 1, rnd(256)], o);
  out[o] = 255;
  return out;
}

function packet(): Buffer {
  if (bigEvery > 0 && sent % bigEvery === bigEvery - 1) {
    bigs += 1;
    return repeatedOptions(BIG_SIZES[bigs % BIG_SIZES.length]!);
  }
  const k = rnd(10);
  if (k === 0) return bytes(rnd(8)); // empty and tiny datagrams
  if (k === 1) return bytes(rnd(1400));
  return mutate(seeds[rnd(seeds.length)]!);
}

const sock = createSocket("udp4");
let sent = 0;
const start = performance.now();
/** How many to send this tick: 50, or what keeps the average at --rate. */
const due = () =>
  rate > 0 ? Math.min(500, Math.floor((rate * (performance.now() - start)) / 1000) - sent) : 50;
function burst(): void {
  // Long datagrams queue in libuv when the socket buffer is full: wait for
  // it to drain rather than hold gigabytes in memory.
  const n = sock.getSendQueueCount() > 64 ? 0 : due();
  for (let i = 0; i < n && sent < count; i += 1, sent += 1) sock.send(packet(), Number(port), addr);
  if (sent < count) setTimeout(burst, 2);
  else {
    const seconds = (performance.now() - start) / 1000;
    setTimeout(() => {
      process.stdout.write(`${JSON.stringify({ sent, seconds })}\n`);
      sock.close();
    }, 200);
  }
}
sock.bind(0, burst);
