// Full mode against real clients in a namespace: udhcpc, dhclient and dhcpcd
// each pretend to be a PXE ROM (through options 60/93/97) and must get a
// pool address, the right next-server and the right boot file.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { dhclient, dhcpcd, udhcpc } from "./clients.ts";
import { baseConfig, startServerIn, tempDir, type ServerProc } from "./server-proc.ts";

describe("dhcp full mode with real clients", () => {
  let net: TestNet;
  let srv: ServerProc;
  const dir = tempDir();

  before(async () => {
    net = await createTestNet("am-dhcp");
    srv = await startServerIn(net.server, baseConfig(dir), dir);
  });
  after(async () => {
    await srv?.stop().catch(() => undefined);
    await net?.close();
  });

  it("udhcpc as a BIOS PXE ROM gets a pool address, next-server and undionly.kpxe", async () => {
    const uuid = "00" + "0123456789abcdef0123456789abcdef";
    const env = await udhcpc(net, dir, [
      "-V",
      "PXEClient:Arch:00000:UNDI:002001",
      "-x",
      "0x5d:0000",
      "-x",
      `0x61:${uuid}`,
    ]);
    assert.equal(env.ip, "10.77.0.100");
    assert.equal(env.siaddr, "10.77.0.1");
    assert.equal(env.boot_file, "undionly.kpxe");
    assert.equal(env.router, "10.77.0.1");
    assert.equal(env.subnet, "255.255.255.0");
    assert.equal(env.serverid, "10.77.0.1");
    const ack = srv.traces().find((t) => t.what === "ack");
    assert.equal(ack?.detail.uuid, "67452301-ab89-efcd-0123-456789abcdef");
  });

  it("dhclient as x64 UEFI (option 93 = 7) gets snponly.efi and next-server", async () => {
    const env = await dhclient(net, dir, [
      "option pxe-arch code 93 = unsigned integer 16;",
      'send vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";',
      "send pxe-arch 7;",
      "request subnet-mask, routers, domain-name-servers;",
    ]);
    assert.equal(env.reason, "BOUND");
    assert.match(env.new_ip_address!, /^10\.77\.0\.1\d\d$/);
    assert.equal(env.new_next_server, "10.77.0.1");
    assert.equal(env.new_filename, "snponly.efi");
    assert.equal(env.new_vendor_class_identifier, "PXEClient");
    assert.equal(env.new_domain_name_servers, "10.77.0.1");
  });

  it("dhcpcd with the arch only in option 60 (arch 9) gets snponly.efi", async () => {
    const env = await dhcpcd(net, dir, ["-i", "PXEClient:Arch:00009:UNDI:003016"]);
    assert.match(env.new_ip_address!, /^10\.77\.0\.1\d\d$/);
    assert.equal(env.new_filename, "snponly.efi");
    assert.equal(env.new_dhcp_server_identifier, "10.77.0.1");
  });

  it("a plain client gets an address but no boot offer", async () => {
    const env = await udhcpc(net, dir, []);
    assert.match(env.ip!, /^10\.77\.0\.1\d\d$/);
    assert.equal(env.boot_file, undefined);
  });

  it("an iPXE client (user class iPXE) gets the boot.ipxe URL and no next-server", async () => {
    const env = await udhcpc(net, dir, [
      "-V",
      "PXEClient:Arch:00000:UNDI:002001",
      "-x",
      "0x4d:69505845", // user class "iPXE"
      "-O",
      "bootfile",
    ]);
    assert.equal(env.boot_file, "http://10.77.0.1:8080/boot.ipxe");
    assert.equal(env.bootfile, "http://10.77.0.1:8080/boot.ipxe");
    assert.ok(env.siaddr === undefined || env.siaddr === "0.0.0.0", env.siaddr);
  });

  it("UEFI HTTP boot (arch 16, HTTPClient) gets an http:// boot file and HTTPClient echoed", async () => {
    const env = await udhcpc(net, dir, [
      "-V",
      "HTTPClient:Arch:00016:UNDI:003001",
      "-x",
      "0x5d:0010",
      "-O",
      "bootfile",
      "-O",
      "0x3c",
    ]);
    assert.equal(env.bootfile, "http://10.77.0.1:8080/ipxe/snponly.efi");
    assert.equal(env.vendor, "HTTPClient");
  });

  it("persists the leases it handed out", async () => {
    const { leases, stats } = await srv.stats();
    assert.ok(
      leases.some((l) => l.ip.startsWith("10.77.0.1")),
      JSON.stringify(leases),
    );
    assert.equal(stats.malformed, 0);
    assert.ok(stats.replied >= 8);
  });
});
