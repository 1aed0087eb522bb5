// Golden tests from real captures (test/fixtures/dhcp/*.pcap, recorded by
// test/fixtures/dhcp/capture.sh): udhcpc, dhclient and dhcpcd talking to
// our server, and dnsmasq answering udhcpc. Each packet must decode to the
// checked-in summary, and re-encode to the same bytes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decode, encode } from "../../../server/dhcp/codec.ts";
import { clientFacts } from "../../../server/dhcp/client.ts";
import { readPcapUdp } from "../../lib/pcap.ts";
import { summarize } from "./summary.ts";

const dir = join(import.meta.dirname, "../../fixtures/dhcp");
const pcaps = readdirSync(dir).filter((f) => f.endsWith(".pcap"));

/** Length of the meaningful part: up to and including the end option. */
function meaningfulLength(buf: Buffer): number {
  let i = 240;
  while (i < buf.length) {
    const c = buf[i]!;
    if (c === 255) return i + 1;
    i += c === 0 ? 1 : 2 + buf[i + 1]!;
  }
  return buf.length;
}

describe("dhcp codec on real captures", () => {
  it("has captures of udhcpc, dhclient, dhcpcd and dnsmasq", () => {
    for (const n of ["udhcpc-bios", "dhclient-uefi", "dhcpcd-uefi", "dnsmasq-udhcpc"]) {
      assert.ok(
        pcaps.includes(`${n}.pcap`),
        `${n}.pcap missing: run test/fixtures/dhcp/capture.sh`,
      );
    }
  });

  for (const f of pcaps) {
    it(`${f}: decodes to the golden summary and re-encodes byte for byte`, () => {
      const packets = readPcapUdp(join(dir, f)).filter((d) => d.srcPort === 67 || d.srcPort === 68);
      assert.ok(packets.length >= 2, `${f}: only ${packets.length} DHCP packets`);
      const summaries = packets.map((d) => {
        const p = decode(d.payload);
        const again = encode(p);
        const n = meaningfulLength(d.payload);
        assert.deepEqual(again.subarray(0, n), d.payload.subarray(0, n), `${f} #${d.index}`);
        // Whatever follows the end option is padding: ours is zeros, up to 300 bytes.
        assert.ok(again.subarray(n).every((b) => b === 0));
        return { from: `${d.src}:${d.srcPort}`, to: `${d.dst}:${d.dstPort}`, ...summarize(p) };
      });
      const golden = join(dir, f.replace(/\.pcap$/, ".golden.json"));
      const text = `${JSON.stringify(summaries, null, 1)}\n`;
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
      assert.equal(text, readFileSync(golden, "utf8"));
    });
  }

  it("reads the PXE facts udhcpc sent as a BIOS ROM", () => {
    const [discover] = readPcapUdp(join(dir, "udhcpc-bios.pcap"));
    const c = clientFacts(decode(discover!.payload));
    assert.equal(c.mac, "52:54:00:12:34:56");
    assert.equal(c.vendorClass, "PXEClient");
    assert.equal(c.arch, 0);
    assert.equal(c.ipxe, false);
    assert.equal(c.uuid, "67452301-ab89-efcd-0123-456789abcdef");
  });

  it("reads the arch from option 93 (dhclient) and from option 60 alone (dhcpcd)", () => {
    const [d1] = readPcapUdp(join(dir, "dhclient-uefi.pcap"));
    assert.equal(clientFacts(decode(d1!.payload)).arch, 7);
    const [d2] = readPcapUdp(join(dir, "dhcpcd-uefi.pcap"));
    assert.equal(clientFacts(decode(d2!.payload)).arch, 9);
  });
});
