// Safety across every boot path, through the real server (DHCP full mode,
// TFTP, HTTP) in a network namespace and real clients in another: a known
// but unarmed MAC and an unknown MAC end with a `local` script whichever way
// they arrive (BIOS PXE, UEFI PXE, UEFI HTTP boot, iPXE directly). An armed
// MAC is the positive control. Also: Wake-on-LAN goes out on the served link.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { TestNet } from "../../lib/netns.ts";
import {
  BIOS_PXE,
  curlIn,
  netboot,
  SERVER,
  setMac,
  startNetbootBed,
  type BootPath,
  type NetbootBed,
} from "./netboot-client.ts";
import { cli } from "./serve-process.ts";

const KNOWN = "52:54:00:a0:00:01"; // hosts/qemu-bios.yaml
const UNKNOWN = "52:54:00:77:77:01";
const PATHS: BootPath[] = [
  BIOS_PXE,
  {
    name: "UEFI PXE",
    dhcp: ["-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007"],
    firstStage: { bootfile: "snponly.efi", via: "tftp" },
    buildarch: "x86_64",
  },
  {
    name: "UEFI HTTP boot",
    dhcp: ["-V", "HTTPClient:Arch:00016:UNDI:003016", "-x", "0x5d:0010"],
    firstStage: { bootfile: `${SERVER}/ipxe/snponly.efi`, via: "http" },
    buildarch: "x86_64",
  },
  { name: "iPXE direct", dhcp: [], buildarch: "x86_64" },
];

describe("boot paths end in one decision", () => {
  let bed: NetbootBed;
  let net: TestNet;
  let dir: string;

  before(async () => {
    bed = await startNetbootBed("am-ctl");
    ({ net, dir } = bed);
  });

  after(() => bed?.close());

  for (const p of PATHS) {
    it(`${p.name}: known-but-unarmed and unknown MACs get only local`, async () => {
      for (const mac of [KNOWN, UNKNOWN]) {
        await setMac(net, mac);
        const script = await netboot(net, dir, p, mac);
        assert.match(
          script,
          /^#!ipxe\n# automagic: \S+ -> local \(.*\)\niseq \$\{platform\} efi && exit 1 \|\|\nexit\n$/,
          `${p.name} ${mac}`,
        );
        assert.doesNotMatch(script, /kernel|token/);
      }
    });
  }

  it("armed host (positive control) boots the image on the UEFI PXE path; trace shows the chain", async () => {
    const env = { AUTOMAGIC_SERVER: "http://127.0.0.1:8080" };
    const armed = await cli(["next", "qemu-bios", "install"], env, net.server);
    assert.equal(armed.exitCode, 0, armed.stderr);
    await setMac(net, KNOWN);
    const script = await netboot(net, dir, PATHS[1]!, KNOWN);
    assert.match(script, /automagic\.action=install BOOTIF=01-52-54-00-a0-00-01/);
    const kernel = /^kernel (\S+)/m.exec(script)![1]!;
    assert.equal(await curlIn(net, kernel), "test-kernel");
    const trace = await cli(["trace", "qemu-bios"], env, net.server);
    const text = String(trace.stdout);
    for (const what of [
      /dhcp\s+\w+/,
      /tftp\s+(rrq|done)/,
      /boot\.ipxe served decision=install/,
      /vmlinuz fetched/,
    ]) {
      assert.match(text, what);
    }
    const disc = await cli(["hosts", "discovered"], env, net.server);
    assert.match(String(disc.stdout), new RegExp(UNKNOWN));
    assert.doesNotMatch(String(disc.stdout), new RegExp(KNOWN));
  });

  it("wake sends a magic packet on the served interface", async () => {
    const listener = net.inClient("node", [
      "-e",
      `const s=require("dgram").createSocket("udp4");s.bind(9,()=>console.log("ready"));` +
        `s.on("message",(m)=>{console.log(m.toString("hex"));process.exit(0)});setTimeout(()=>process.exit(3),10000)`,
    ]);
    await new Promise<void>((resolve) => listener.stdout!.once("data", () => resolve()));
    const r = await cli(
      ["wake", "qemu-bios"],
      { AUTOMAGIC_SERVER: "http://127.0.0.1:8080" },
      net.server,
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const got = (await listener).stdout as string;
    const mac = KNOWN.replace(/:/g, "");
    assert.equal(got.trim().split("\n").pop(), "ff".repeat(6) + mac.repeat(16));
  });
});
