// Golden tests from real captures (test/fixtures/dhcp/*.pcap, recorded by
// test/fixtures/dhcp/capture.sh): udhcpc, dhclient and dhcpcd talking to
// our server, and dnsmasq answering udhcpc. Each packet must decode to the
// checked-in summary, and re-encode to the same bytes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { encode } from "../../../server/dhcp/codec.ts";
import { clientFacts } from "../../../server/dhcp/client.ts";
import { decodeSubOptions, Opt } from "../../../server/dhcp/options.ts";
import { assertGolden } from "../../lib/golden.ts";
import { readPcapUdp } from "../../lib/pcap.ts";
import { decodeOk } from "./build.ts";
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
    for (const n of [
      "udhcpc-bios",
      "dhclient-uefi",
      "dhcpcd-uefi",
      "dnsmasq-udhcpc",
      "ipxe-bios",
      "ovmf-pxe",
    ]) {
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
        const p = decodeOk(d.payload);
        const again = encode(p);
        const n = meaningfulLength(d.payload);
        assert.deepEqual(again.subarray(0, n), d.payload.subarray(0, n), `${f} #${d.index}`);
        // Whatever follows the end option is padding: ours is zeros, up to 300 bytes.
        assert.ok(again.subarray(n).every((b) => b === 0));
        return { from: `${d.src}:${d.srcPort}`, to: `${d.dst}:${d.dstPort}`, ...summarize(p) };
      });
      const golden = join(dir, f.replace(/\.pcap$/, ".golden.json"));
      assertGolden(golden, `${JSON.stringify(summaries, null, 1)}\n`);
    });
  }

  it("reads the PXE facts udhcpc sent as a BIOS ROM", () => {
    const [discover] = readPcapUdp(join(dir, "udhcpc-bios.pcap"));
    const c = clientFacts(decodeOk(discover!.payload));
    assert.equal(c.mac, "52:54:00:12:34:56");
    assert.equal(c.vendorClass, "PXEClient");
    assert.equal(c.arch, 0);
    assert.equal(c.ipxe, false);
    assert.equal(c.uuid, "67452301-ab89-efcd-0123-456789abcdef");
  });

  it("reads the arch from option 93 (dhclient) and from option 60 alone (dhcpcd)", () => {
    const [d1] = readPcapUdp(join(dir, "dhclient-uefi.pcap"));
    assert.equal(clientFacts(decodeOk(d1!.payload)).arch, 7);
    const [d2] = readPcapUdp(join(dir, "dhcpcd-uefi.pcap"));
    assert.equal(clientFacts(decodeOk(d2!.payload)).arch, 9);
  });
});

describe("dhcp captures of real firmware in QEMU (capture-qemu.sh)", () => {
  const packets = (f: string) =>
    readPcapUdp(join(dir, f)).map((d) => ({ ...d, p: decodeOk(d.payload) }));

  it("iPXE (SeaBIOS + ipxe-qemu ROM) is recognised and gets the script URL and 175.176 = 1", () => {
    const [discover, offer, , ack] = packets("ipxe-bios.pcap");
    const c = clientFacts(discover!.p);
    assert.equal(c.ipxe, true);
    assert.equal(c.arch, 0);
    assert.equal(c.vendorClass, "PXEClient");
    for (const r of [offer!, ack!]) {
      assert.equal(r.p.file, "http://10.77.0.1:8080/boot.ipxe");
      assert.deepEqual(
        decodeSubOptions(r.p.options.get(Opt.ipxeEncap)!).get(176),
        Buffer.from([1]),
      );
    }
    // The whole exchange took milliseconds: iPXE did not wait for ProxyDHCP.
    assert.ok(ack!.ts - discover!.ts < 1, `DISCOVER to ACK took ${ack!.ts - discover!.ts} s`);
  });

  it("OVMF's own PXE (arch 7) gets snponly.efi over TFTP; its HTTP boot (arch 16) an http:// URL", () => {
    const all = packets("ovmf-pxe.pcap");
    const pxe = all.filter((d) => clientFacts(d.p).arch === 7 && d.p.op === 1);
    const http = all.filter((d) => clientFacts(d.p).arch === 16 && d.p.op === 1);
    assert.ok(
      pxe.length >= 2 && http.length >= 2,
      "capture lacks the PXE or the HTTP boot exchange",
    );
    assert.equal(clientFacts(pxe[0]!.p).uuid !== undefined, true);
    const replies = all.filter((d) => d.p.op === 2);
    const pxeAck = replies.find(
      (d) => d.p.xid === pxe[0]!.p.xid && d.p.options.get(Opt.messageType)![0] === 5,
    );
    assert.equal(pxeAck?.p.file, "snponly.efi");
    assert.equal(pxeAck?.p.siaddr, "10.77.0.1");
    const httpAck = replies.find(
      (d) => d.p.xid === http[0]!.p.xid && d.p.options.get(Opt.messageType)![0] === 5,
    );
    assert.equal(
      httpAck?.p.options.get(Opt.bootfileName)?.toString(),
      "http://10.77.0.1:8080/ipxe/snponly.efi",
    );
    assert.equal(httpAck?.p.options.get(Opt.vendorClass)?.toString(), "HTTPClient");
  });
});
