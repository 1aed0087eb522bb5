// The boot decision: given what the client is, what should it load? Pure.
//   iPXE (user class / 175)   -> HTTP URL of /boot.ipxe (breaks the chain loop)
//   arch 16 / HTTPClient      -> http:// URL of the UEFI iPXE binary
//   arch 0 (BIOS PXE)         -> TFTP bios binary (undionly.kpxe)
//   arch 7, 9 (x64 UEFI PXE)  -> TFTP uefi binary (snponly.efi)
//   anything else             -> no boot offer (address only in full mode)
import type { ClientFacts } from "./client.ts";
import { Arch } from "./options.ts";

export interface BootFiles {
  bios: string;
  uefi: string;
  /** URL (or file name under <script origin>/ipxe/) for UEFI HTTP boot. */
  httpBoot?: string;
}

export interface BootConfig {
  bootfiles: BootFiles;
  ipxeScriptUrl: string;
  /** next-server (siaddr) for TFTP. */
  tftpServer: string;
}

export type BootOffer =
  | { kind: "none"; reason: string }
  | {
      kind: "tftp" | "http" | "ipxe-script";
      /** The `file` field / option 67. */
      bootfile: string;
      /** siaddr: TFTP server for tftp, 0.0.0.0 otherwise. */
      nextServer: string;
      /** Option 60 to echo (firmware ignores offers without it). */
      vendorClass: "PXEClient" | "HTTPClient" | undefined;
      /** True when the firmware needs option 43 discovery control (BIOS PXE). */
      pxeVendorOptions: boolean;
    };

function httpBootUrl(cfg: BootConfig): string {
  const f = cfg.bootfiles.httpBoot;
  if (f && /^https?:\/\//.test(f)) return f;
  return new URL(`/ipxe/${f ?? cfg.bootfiles.uefi}`, cfg.ipxeScriptUrl).toString();
}

export function decideBootOffer(c: ClientFacts, cfg: BootConfig): BootOffer {
  if (c.ipxe) {
    return {
      kind: "ipxe-script",
      bootfile: cfg.ipxeScriptUrl,
      nextServer: "0.0.0.0",
      vendorClass: c.vendorClass,
      pxeVendorOptions: false,
    };
  }
  if (c.vendorClass === "HTTPClient" || c.arch === Arch.efiX64Http) {
    // UEFI HTTP boot only accepts an offer that echoes "HTTPClient" (UEFI 2.x 24.7.2).
    return {
      kind: "http",
      bootfile: httpBootUrl(cfg),
      nextServer: "0.0.0.0",
      vendorClass: "HTTPClient",
      pxeVendorOptions: false,
    };
  }
  if (c.vendorClass !== "PXEClient") return { kind: "none", reason: "not a PXE client" };
  if (c.arch === Arch.bios || c.arch === undefined) {
    // No option 93 but PXEClient: pre-RFC 4578 BIOS ROMs.
    return {
      kind: "tftp",
      bootfile: cfg.bootfiles.bios,
      nextServer: cfg.tftpServer,
      vendorClass: "PXEClient",
      pxeVendorOptions: true,
    };
  }
  if (c.arch === Arch.efiBc || c.arch === Arch.efiX64) {
    // No option 43 here: pixiecore found UEFI firmware that rejects offers
    // carrying PXE discovery options, while all of it honours siaddr+file.
    return {
      kind: "tftp",
      bootfile: cfg.bootfiles.uefi,
      nextServer: cfg.tftpServer,
      vendorClass: "PXEClient",
      pxeVendorOptions: false,
    };
  }
  return { kind: "none", reason: `unsupported architecture ${c.arch}` };
}
