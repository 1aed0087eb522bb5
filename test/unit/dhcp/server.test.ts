// The whole DHCP server (config, socket loop, lease journal) driven through
// fake sockets: no network, no root. The namespace tests
// (test/integration/dhcp) run the same server against real clients.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { encode, messageType } from "../../../server/dhcp/codec.ts";
import { startDhcpServer, type DhcpTraceEvent } from "../../../server/dhcp/index.ts";
import { MsgType } from "../../../server/dhcp/options.ts";
import { silentLog } from "../../../server/log.ts";
import { FakeUdpNet } from "../../fakes/udp.ts";
import { waitFor } from "../../lib/wait.ts";
import { decodeOk, request } from "./build.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "am-dhcp-srv-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const bios = { vendorClass: "PXEClient:Arch:00000:UNDI:002001", arch: 0 };
const client = { address: "0.0.0.0", port: 68 };

function config(leaseFile: string) {
  return {
    mode: "full" as const,
    interface: "lo",
    serverIp: "10.77.0.1",
    force: true,
    leaseFile,
    bootfiles: { bios: "undionly.kpxe", uefi: "snponly.efi" },
    ipxeScriptUrl: "http://10.77.0.1/boot.ipxe",
    subnet: {
      network: "10.77.0.0",
      prefixLen: 24,
      poolStart: "10.77.0.100",
      poolEnd: "10.77.0.110",
      router: "10.77.0.1",
    },
  };
}

test("DISCOVER -> OFFER -> REQUEST -> ACK through fake sockets, lease journalled", async () => {
  const net = new FakeUdpNet();
  const traces: DhcpTraceEvent[] = [];
  const srv = await startDhcpServer(config(join(dir, "a.jsonl")), {
    socket: net.open,
    onTrace: (e) => traces.push(e),
  });
  try {
    assert.deepEqual(
      net.sockets.map((s) => `${s.opts.address}:${s.opts.port}`),
      ["0.0.0.0:67", "10.77.0.1:67", "10.77.0.1:4011"],
    );
    assert.ok(net.sockets.every((s) => s.opts.reuseAddr && s.opts.broadcast));
    const bcast = net.at("0.0.0.0", 67);
    bcast.deliver(encode(request(MsgType.discover, bios)), client);
    const [offer] = await waitFor("the OFFER", () => bcast.sent.length > 0 && bcast.take());
    assert.deepEqual(offer!.to, { address: "255.255.255.255", port: 68 });
    const o = decodeOk(offer!.msg);
    assert.equal(messageType(o), MsgType.offer);
    assert.equal(o.yiaddr, "10.77.0.100");
    assert.equal(o.file, "undionly.kpxe");

    bcast.deliver(
      encode(request(MsgType.request, { ...bios, requestedIp: o.yiaddr, serverId: "10.77.0.1" })),
      client,
    );
    // The lease is journalled before the ACK goes out: that write is async.
    const [ack] = await waitFor("the ACK", () => bcast.sent.length > 0 && bcast.take());
    const a = decodeOk(ack!.msg);
    assert.equal(messageType(a), MsgType.ack);
    assert.equal(a.yiaddr, "10.77.0.100");
    assert.deepEqual(
      srv.leases().map((l) => [l.mac, l.ip]),
      [["52:54:00:aa:bb:cc", "10.77.0.100"]],
    );
    assert.equal(srv.leaseHolder("10.77.0.100"), "52:54:00:aa:bb:cc");
    assert.deepEqual(
      traces.map((t) => t.detail.type),
      ["discover", "request"],
    );
    assert.deepEqual(srv.stats(), {
      received: 2,
      oversized: 0,
      malformed: 0,
      replied: 2,
      ignored: 0,
      errors: 0,
    });
  } finally {
    await srv.close();
  }
  assert.ok(net.sockets.every((s) => s.closed));
  // The lease survives a restart: the journal is read back.
  const again = await startDhcpServer(config(join(dir, "a.jsonl")), {
    socket: new FakeUdpNet().open,
  });
  assert.equal(again.leaseHolder("10.77.0.100"), "52:54:00:aa:bb:cc");
  await again.close();
});

test("a malformed datagram is counted and dropped; nothing is sent", async () => {
  const net = new FakeUdpNet();
  const srv = await startDhcpServer(config(join(dir, "b.jsonl")), { socket: net.open });
  try {
    net.at("0.0.0.0", 67).deliver(Buffer.from("not a bootp packet"), client);
    assert.equal(srv.stats().malformed, 1);
    assert.equal(srv.stats().received, 1);
    assert.ok(net.sockets.every((s) => s.sent.length === 0));
  } finally {
    await srv.close();
  }
});

test("a socket that cannot be opened fails the start, naming it; the others are closed", async () => {
  const net = new FakeUdpNet();
  let opened = 0;
  const open: typeof net.open = async (o) => {
    if (++opened === 3) {
      throw Object.assign(new Error(`cannot bind ${o.address}:${o.port}: bind EADDRINUSE`), {
        code: "EADDRINUSE",
      });
    }
    return net.open(o);
  };
  await assert.rejects(
    startDhcpServer(config(join(dir, "c.jsonl")), { socket: open }),
    (err: Error & { code?: string }) =>
      err.message === "dhcp: cannot bind 10.77.0.1:4011: bind EADDRINUSE" &&
      err.code === "EADDRINUSE",
  );
  assert.equal(net.sockets.length, 2);
  assert.ok(net.sockets.every((s) => s.closed));
});

for (const how of ["error", "close"] as const) {
  test(`a listening socket that ${how === "error" ? "errors" : "closes"} underneath stops the server loudly`, async () => {
    const net = new FakeUdpNet();
    const errors: string[] = [];
    const fatal = new Promise<Error>((res) => {
      void startDhcpServer(config(join(dir, `d-${how}.jsonl`)), {
        socket: net.open,
        onFatal: res,
        log: { ...silentLog, error: (_o, m) => errors.push(m ?? "") },
      }).then((srv) => {
        const s = net.at("10.77.0.1", 67);
        if (how === "error") s.emit("error", new Error("recvmsg EIO"));
        else s.close();
        return srv;
      });
    });
    const err = await fatal;
    const why = how === "error" ? "failed: recvmsg EIO" : "closed underneath the server";
    assert.equal(err.message, `dhcp: socket 10.77.0.1:67 ${why}; the DHCP server has stopped`);
    assert.deepEqual(errors, [err.message]);
    // Every socket is closed: the server is stopped, not half up.
    assert.ok(net.sockets.every((s) => s.closed));
  });
}
