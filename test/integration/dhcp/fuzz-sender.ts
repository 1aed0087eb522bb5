// Run inside the client namespace: throws --count datagrams at --to
// ADDR:PORT: random bytes, mutations of real captured packets (bit flips,
// truncation, corrupted option lengths, garbage tails) and random but
// well-formed DHCP messages. Deterministic for a given --seed. Paced in
// bursts so the kernel does not just drop them before the server sees them.
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
  },
});
const [addr, port] = values.to.split(":");
const count = Number(values.count);

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

function packet(): Buffer {
  const k = rnd(10);
  if (k === 0) return bytes(rnd(8)); // empty and tiny datagrams
  if (k === 1) return bytes(rnd(1400));
  return mutate(seeds[rnd(seeds.length)]!);
}

const sock = createSocket("udp4");
let sent = 0;
function burst(): void {
  for (let i = 0; i < 50 && sent < count; i += 1, sent += 1)
    sock.send(packet(), Number(port), addr);
  if (sent < count) setTimeout(burst, 2);
  else
    setTimeout(() => {
      process.stdout.write(`${JSON.stringify({ sent })}\n`);
      sock.close();
    }, 200);
}
sock.bind(0, burst);
