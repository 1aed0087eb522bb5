import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DropLog } from "../../../server/dhcp/drop-log.ts";
import { datagramCap, interfaceMtu, replyCap } from "../../../server/dhcp/limits.ts";
import { MsgType, Opt } from "../../../server/dhcp/options.ts";
import { request } from "./build.ts";

describe("dhcp datagram caps", () => {
  it("takes the interface MTU less IP and UDP headers, 1500 if unknown, never below 576", () => {
    assert.equal(datagramCap(1500), 1472);
    assert.equal(datagramCap(undefined), 1472);
    assert.equal(datagramCap(9000), 8972);
    assert.equal(datagramCap(600), 576);
  });

  it("reads the MTU from sysfs and gives undefined for an interface that is not there", () => {
    const read = (p: string) => (p === "/sys/class/net/srv0/mtu" ? "1400\n" : "");
    assert.equal(interfaceMtu("srv0", read), 1400);
    assert.equal(interfaceMtu("nosuch0"), undefined);
  });

  it("caps a reply at option 57 less the headers (RFC 2132 9.10), 576 at least", () => {
    const size = (n: number) => Buffer.from([n >> 8, n & 0xff]);
    const req = (extra: Array<[number, Buffer]>) => request(MsgType.discover, { extra });
    assert.equal(replyCap(req([]), 1472), 1472);
    assert.equal(replyCap(req([[Opt.maxMessageSize, size(1000)]]), 1472), 972);
    assert.equal(replyCap(req([[Opt.maxMessageSize, size(300)]]), 1472), 548);
    assert.equal(replyCap(req([[Opt.maxMessageSize, size(9000)]]), 1472), 1472);
    assert.equal(replyCap(req([[Opt.maxMessageSize, Buffer.from([5])]]), 1472), 1472);
  });
});

describe("dhcp drop log", () => {
  it("logs the first drop, then one summary per interval however many follow", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const lines: Array<[object, string]> = [];
    const drops = new DropLog((o, m) => lines.push([o, m]), "oversized datagrams", 10_000);
    for (let i = 0; i < 10_000; i += 1) drops.note({ from: "10.0.0.9", bytes: 65_507 - i });
    assert.equal(lines.length, 1);
    assert.match(lines[0]![1], /^dhcp: oversized datagrams dropped$/);
    t.mock.timers.tick(10_000);
    assert.equal(lines.length, 2);
    assert.equal(lines[1]![1], "dhcp: 9999 more oversized datagrams dropped");
    assert.deepEqual((lines[1]![0] as { last: object }).last, { from: "10.0.0.9", bytes: 55_508 });
    // A quiet interval ends the spell: nothing logged, the next drop is logged at once.
    t.mock.timers.tick(10_000);
    assert.equal(lines.length, 2);
    drops.note({ from: "10.0.0.8", bytes: 2000 });
    assert.equal(lines.length, 3);
    drops.note({ from: "10.0.0.8", bytes: 2001 });
    drops.close();
    assert.equal(lines.length, 4);
    assert.equal(lines[3]![1], "dhcp: 1 more oversized datagrams dropped");
  });
});
