import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { messageType } from "../../../server/dhcp/codec.ts";
import { handleProxy, type ProxyContext } from "../../../server/dhcp/proxy.ts";
import { decodeSubOptions, MsgType, Opt } from "../../../server/dhcp/options.ts";
import { request } from "./build.ts";

const ctx: ProxyContext = {
  serverIp: "10.77.0.1",
  boot: {
    bootfiles: { bios: "undionly.kpxe", uefi: "snponly.efi" },
    ipxeScriptUrl: "http://10.77.0.1/boot.ipxe",
    tftpServer: "10.77.0.1",
  },
};
const from = { address: "10.77.0.55", port: 68 };

describe("proxyDHCP decisions", () => {
  it("answers a PXE DISCOVER on 67 with boot info and no address", () => {
    const o = handleProxy(
      request(MsgType.discover, { vendorClass: "PXEClient:Arch:00007", arch: 7 }),
      ctx,
      "dhcp",
      from,
    );
    const r = o.reply!.packet;
    assert.equal(messageType(r), MsgType.offer);
    assert.equal(r.yiaddr, "0.0.0.0");
    assert.equal(r.siaddr, "10.77.0.1");
    assert.equal(r.file, "snponly.efi");
    assert.equal(r.options.has(Opt.leaseTime), false);
    assert.equal(r.options.get(Opt.vendorClass)?.toString(), "PXEClient");
    // Discovery control 8: boot from `file` without a boot server discovery.
    assert.deepEqual(decodeSubOptions(r.options.get(Opt.vendorSpecific)!).get(6), Buffer.from([8]));
    assert.equal(r.options.has(Opt.ipxeEncap), false);
    assert.deepEqual(o.reply!.to, { address: "255.255.255.255", port: 68 });
  });

  it("ignores non-PXE clients and REQUESTs on 67 (the real DHCP server owns those)", () => {
    assert.equal(
      handleProxy(request(MsgType.discover, { vendorClass: "udhcp" }), ctx, "dhcp", from).reply,
      undefined,
    );
    assert.equal(
      handleProxy(
        request(MsgType.request, { vendorClass: "PXEClient", arch: 0 }),
        ctx,
        "dhcp",
        from,
      ).reply,
      undefined,
    );
  });

  it("ACKs a 4011 REQUEST by unicast, echoing the PXE boot item", () => {
    const item = Buffer.from([0x80, 0x01, 0, 0]);
    const req = request(MsgType.request, {
      vendorClass: "PXEClient:Arch:00000",
      arch: 0,
      ciaddr: "10.77.0.55",
      extra: [[Opt.vendorSpecific, Buffer.from([71, 4, ...item, 255])]],
    });
    const o = handleProxy(req, ctx, "pxe", from);
    assert.equal(messageType(o.reply!.packet), MsgType.ack);
    assert.equal(o.reply!.packet.file, "undionly.kpxe");
    assert.deepEqual(
      decodeSubOptions(o.reply!.packet.options.get(Opt.vendorSpecific)!).get(71),
      item,
    );
    assert.deepEqual(o.reply!.to, from);
  });

  it("gives iPXE the script URL", () => {
    const o = handleProxy(
      request(MsgType.discover, { userClass: "iPXE", arch: 0, vendorClass: "PXEClient" }),
      ctx,
      "dhcp",
      from,
    );
    assert.equal(o.reply!.packet.file, "http://10.77.0.1/boot.ipxe");
    // iPXE's dhcp_has_pxeopts() ignores a ProxyDHCP answer without siaddr.
    assert.equal(o.reply!.packet.siaddr, "10.77.0.1");
  });
});
