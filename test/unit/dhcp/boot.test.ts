import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decideBootOffer, type BootConfig } from "../../../server/dhcp/boot.ts";
import { clientFacts } from "../../../server/dhcp/client.ts";
import { MsgType } from "../../../server/dhcp/options.ts";
import { request } from "./build.ts";

const cfg: BootConfig = {
  bootfiles: { bios: "undionly.kpxe", uefi: "snponly.efi" },
  ipxeScriptUrl: "http://10.77.0.1:8080/boot.ipxe",
  tftpServer: "10.77.0.1",
};

function decide(o: Parameters<typeof request>[1], c: BootConfig = cfg) {
  return decideBootOffer(clientFacts(request(MsgType.discover, o)), c);
}

describe("boot decision", () => {
  const table: Array<[string, Parameters<typeof request>[1], string, string | undefined]> = [
    [
      "BIOS PXE (arch 0)",
      { vendorClass: "PXEClient:Arch:00000:UNDI:002001", arch: 0 },
      "tftp undionly.kpxe",
      "PXEClient",
    ],
    [
      "x64 UEFI (arch 7)",
      { vendorClass: "PXEClient:Arch:00007:UNDI:003016", arch: 7 },
      "tftp snponly.efi",
      "PXEClient",
    ],
    [
      "x64 UEFI (arch 9)",
      { vendorClass: "PXEClient:Arch:00009:UNDI:003016", arch: 9 },
      "tftp snponly.efi",
      "PXEClient",
    ],
    [
      "arch only in option 60",
      { vendorClass: "PXEClient:Arch:00007:UNDI:003016" },
      "tftp snponly.efi",
      "PXEClient",
    ],
    [
      "PXEClient without arch (pre-4578 ROM)",
      { vendorClass: "PXEClient" },
      "tftp undionly.kpxe",
      "PXEClient",
    ],
    [
      "UEFI HTTP boot (arch 16)",
      { vendorClass: "HTTPClient:Arch:00016:UNDI:003001", arch: 16 },
      "http http://10.77.0.1:8080/ipxe/snponly.efi",
      "HTTPClient",
    ],
    [
      "iPXE by user class",
      { vendorClass: "PXEClient:Arch:00000", arch: 0, userClass: "iPXE" },
      "ipxe-script http://10.77.0.1:8080/boot.ipxe",
      "PXEClient",
    ],
    [
      "iPXE by option 175",
      { arch: 7, ipxe175: true },
      "ipxe-script http://10.77.0.1:8080/boot.ipxe",
      undefined,
    ],
    [
      "iPXE by RFC 3004 user class",
      { userClass: "\u0004iPXE" },
      "ipxe-script http://10.77.0.1:8080/boot.ipxe",
      undefined,
    ],
  ];
  for (const [name, o, want, vc] of table) {
    it(`${name} -> ${want}`, () => {
      const d = decide(o);
      assert.notEqual(d.kind, "none");
      if (d.kind === "none") return;
      assert.equal(`${d.kind} ${d.bootfile}`, want);
      assert.equal(d.vendorClass, vc);
      assert.equal(d.nextServer, d.kind === "tftp" ? "10.77.0.1" : "0.0.0.0");
    });
  }

  it("only BIOS gets PXE option 43 (UEFI firmware is given siaddr+file alone)", () => {
    assert.equal(
      (decide({ vendorClass: "PXEClient", arch: 0 }) as { pxeVendorOptions: boolean })
        .pxeVendorOptions,
      true,
    );
    assert.equal(
      (decide({ vendorClass: "PXEClient", arch: 7 }) as { pxeVendorOptions: boolean })
        .pxeVendorOptions,
      false,
    );
  });

  it("no boot offer for a plain client or an unsupported arch", () => {
    assert.equal(decide({ vendorClass: "udhcp 1.35.0" }).kind, "none");
    assert.equal(decide({}).kind, "none");
    assert.deepEqual(decide({ vendorClass: "PXEClient:Arch:00006", arch: 6 }), {
      kind: "none",
      reason: "unsupported architecture 6",
    });
  });

  it("the UEFI file name and the HTTP boot URL are configurable", () => {
    const c = { ...cfg, bootfiles: { bios: "b", uefi: "ipxe.efi", httpBoot: "http://x/y.efi" } };
    assert.equal(
      (decide({ vendorClass: "PXEClient", arch: 9 }, c) as { bootfile: string }).bootfile,
      "ipxe.efi",
    );
    assert.equal((decide({ arch: 16 }, c) as { bootfile: string }).bootfile, "http://x/y.efi");
  });
});
