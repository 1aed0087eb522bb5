import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encode, messageType } from "../../../server/dhcp/codec.ts";
import { handleFull, type FullContext } from "../../../server/dhcp/full.ts";
import { LeaseTable } from "../../../server/dhcp/lease-table.ts";
import { decodeSubOptions, MsgType, Opt } from "../../../server/dhcp/options.ts";
import { decodeOk, request } from "./build.ts";

function ctx(reservations: Record<string, string> = {}, now = () => 1_000_000): FullContext {
  const local = {
    network: "10.77.0.0",
    prefixLen: 24,
    poolStart: "10.77.0.100",
    poolEnd: "10.77.0.101",
    router: "10.77.0.1",
    leaseSeconds: 600,
  };
  const far = {
    network: "10.88.0.0",
    prefixLen: 24,
    poolStart: "10.88.0.10",
    poolEnd: "10.88.0.20",
  };
  return {
    serverIp: "10.77.0.1",
    subnets: [
      { cfg: local, table: new LeaseTable(local.poolStart, local.poolEnd, now) },
      { cfg: far, table: new LeaseTable(far.poolStart, far.poolEnd, now) },
    ],
    boot: {
      bootfiles: { bios: "undionly.kpxe", uefi: "snponly.efi" },
      ipxeScriptUrl: "http://10.77.0.1/boot.ipxe",
      tftpServer: "10.77.0.1",
    },
    reservationFor: (mac) => reservations[mac],
  };
}

const bios = { vendorClass: "PXEClient:Arch:00000:UNDI:002001", arch: 0 };

describe("full mode decisions", () => {
  it("DISCOVER -> OFFER with address, lease options and BIOS boot info, broadcast", () => {
    const uuid = Buffer.from("00" + "11".repeat(16), "hex");
    const o = handleFull(request(MsgType.discover, { ...bios, uuid }), ctx());
    const r = o.reply!.packet;
    assert.equal(messageType(r), MsgType.offer);
    assert.equal(r.yiaddr, "10.77.0.100");
    assert.equal(r.siaddr, "10.77.0.1");
    assert.equal(r.file, "undionly.kpxe");
    assert.equal(r.options.get(Opt.vendorClass)?.toString(), "PXEClient");
    assert.deepEqual(r.options.get(Opt.clientUuid), uuid);
    assert.deepEqual([...r.options.get(Opt.vendorSpecific)!], [6, 1, 8, 255]);
    assert.equal(r.options.get(Opt.leaseTime)?.readUInt32BE(0), 600);
    assert.equal(r.options.get(Opt.renewalTime)?.readUInt32BE(0), 300);
    assert.deepEqual([...r.options.get(Opt.subnetMask)!], [255, 255, 255, 0]);
    assert.deepEqual(o.reply!.to, { address: "255.255.255.255", port: 68 });
    assert.equal(o.persist, undefined);
    // And it survives a trip through the wire format.
    assert.equal(decodeOk(encode(r)).file, "undionly.kpxe");
  });

  it("REQUEST for the offered address -> ACK, persisted before it is sent", () => {
    const c = ctx();
    handleFull(request(MsgType.discover, bios), c);
    const o = handleFull(
      request(MsgType.request, { ...bios, requestedIp: "10.77.0.100", serverId: "10.77.0.1" }),
      c,
    );
    assert.equal(messageType(o.reply!.packet), MsgType.ack);
    assert.deepEqual(o.persist, {
      mac: "52:54:00:aa:bb:cc",
      ip: "10.77.0.100",
      expires: 1_000_000 + 600_000,
    });
  });

  it("a second client gets the next address; the pool runs out cleanly", () => {
    const c = ctx();
    assert.equal(
      handleFull(request(MsgType.discover, { mac: "02:00:00:00:00:01" }), c).reply!.packet.yiaddr,
      "10.77.0.100",
    );
    assert.equal(
      handleFull(request(MsgType.discover, { mac: "02:00:00:00:00:02" }), c).reply!.packet.yiaddr,
      "10.77.0.101",
    );
    const o = handleFull(request(MsgType.discover, { mac: "02:00:00:00:00:03" }), c);
    assert.equal(o.reply, undefined);
    assert.equal(o.trace.what, "pool-exhausted");
  });

  it("a reservation from the hook wins over the pool", () => {
    const o = handleFull(
      request(MsgType.discover, bios),
      ctx({ "52:54:00:aa:bb:cc": "10.77.0.50" }),
    );
    assert.equal(o.reply!.packet.yiaddr, "10.77.0.50");
  });

  it("NAKs a REQUEST for another client's address or a wrong network", () => {
    const c = ctx();
    handleFull(request(MsgType.discover, { mac: "02:00:00:00:00:01" }), c);
    const o = handleFull(
      request(MsgType.request, {
        mac: "02:00:00:00:00:02",
        requestedIp: "10.77.0.100",
        serverId: "10.77.0.1",
      }),
      c,
    );
    assert.equal(messageType(o.reply!.packet), MsgType.nak);
    assert.equal(o.reply!.packet.yiaddr, "0.0.0.0");
    assert.deepEqual(o.reply!.to, { address: "255.255.255.255", port: 68 });
    const w = handleFull(request(MsgType.request, { requestedIp: "192.168.1.9" }), c);
    assert.equal(messageType(w.reply!.packet), MsgType.nak);
  });

  it("stays silent on INIT-REBOOT from an unknown client, ACKs a known one", () => {
    const c = ctx();
    assert.equal(
      handleFull(request(MsgType.request, { requestedIp: "10.77.0.100" }), c).reply,
      undefined,
    );
    c.subnets[0]!.table.bind("52:54:00:aa:bb:cc", "10.77.0.100", 600);
    const o = handleFull(request(MsgType.request, { requestedIp: "10.77.0.100" }), c);
    assert.equal(messageType(o.reply!.packet), MsgType.ack);
  });

  it("RENEW (ciaddr set) is answered by unicast to the client", () => {
    const c = ctx();
    c.subnets[0]!.table.bind("52:54:00:aa:bb:cc", "10.77.0.100", 600);
    const o = handleFull(request(MsgType.request, { ciaddr: "10.77.0.100" }), c);
    assert.equal(messageType(o.reply!.packet), MsgType.ack);
    assert.deepEqual(o.reply!.to, { address: "10.77.0.100", port: 68 });
  });

  it("frees its offer when the client chose another server", () => {
    const c = ctx();
    handleFull(request(MsgType.discover, bios), c);
    const o = handleFull(
      request(MsgType.request, { requestedIp: "10.77.0.100", serverId: "10.77.0.9" }),
      c,
    );
    assert.equal(o.reply, undefined);
    assert.equal(c.subnets[0]!.table.leaseOf("52:54:00:aa:bb:cc"), undefined);
  });

  it("relayed: subnet from giaddr, unicast to the relay on port 67", () => {
    const o = handleFull(request(MsgType.discover, { ...bios, giaddr: "10.88.0.1" }), ctx());
    assert.equal(o.reply!.packet.yiaddr, "10.88.0.10");
    assert.equal(o.reply!.packet.giaddr, "10.88.0.1");
    assert.deepEqual(o.reply!.to, { address: "10.88.0.1", port: 67 });
    const nak = handleFull(
      request(MsgType.request, {
        giaddr: "10.88.0.1",
        requestedIp: "10.77.0.100",
        serverId: "10.77.0.1",
      }),
      ctx(),
    );
    assert.equal(messageType(nak.reply!.packet), MsgType.nak);
    assert.equal(nak.reply!.packet.flags & 0x8000, 0x8000);
    assert.deepEqual(nak.reply!.to, { address: "10.88.0.1", port: 67 });
  });

  it("ignores a relay from a subnet it does not serve", () => {
    const o = handleFull(request(MsgType.discover, { giaddr: "192.168.5.1" }), ctx());
    assert.equal(o.reply, undefined);
  });

  it("iPXE gets the script URL in file and option 67, and 175.176 = 1", () => {
    const o = handleFull(
      request(MsgType.discover, { ...bios, userClass: "iPXE", ipxe175: true }),
      ctx(),
    );
    const r = o.reply!.packet;
    assert.equal(r.file, "http://10.77.0.1/boot.ipxe");
    assert.equal(r.options.get(Opt.bootfileName)?.toString(), "http://10.77.0.1/boot.ipxe");
    assert.equal(r.siaddr, "0.0.0.0");
    assert.deepEqual(decodeSubOptions(r.options.get(Opt.ipxeEncap)!).get(176), Buffer.from([1]));
  });

  it("RELEASE frees the address and journals it as expired", () => {
    const c = ctx();
    c.subnets[0]!.table.bind("52:54:00:aa:bb:cc", "10.77.0.100", 600);
    const o = handleFull(request(MsgType.release, { ciaddr: "10.77.0.100" }), c);
    assert.deepEqual(o.persist, { mac: "52:54:00:aa:bb:cc", ip: "10.77.0.100", expires: 0 });
    assert.equal(c.subnets[0]!.table.leaseOf("52:54:00:aa:bb:cc"), undefined);
  });

  it("DECLINE keeps the address out of the pool", () => {
    const c = ctx();
    handleFull(request(MsgType.decline, { requestedIp: "10.77.0.100" }), c);
    assert.equal(
      handleFull(request(MsgType.discover, { mac: "02:00:00:00:00:07" }), c).reply!.packet.yiaddr,
      "10.77.0.101",
    );
  });

  it("INFORM gets configuration without a lease time", () => {
    const o = handleFull(request(MsgType.inform, { ciaddr: "10.77.0.7" }), ctx());
    assert.equal(o.reply!.packet.options.has(Opt.leaseTime), false);
    assert.deepEqual(o.reply!.to, { address: "10.77.0.7", port: 68 });
  });
});
