// Reads one machine's boot trace (as `automagic trace <mac> --json` returns
// it) into the chain steps the netboot tests assert on: the firmware's DHCP,
// the TFTP fetch of the iPXE binary, iPXE's own DHCP and the boot script.
// Pure, so the arithmetic behind the "iPXE within 3 s" claim is plain to see.

export interface ChainRow {
  time: number;
  source: string;
  what: string;
  detail?: Record<string, unknown>;
}

export interface ChainSteps {
  /** DHCP rows whose answer was the iPXE binary, over TFTP (PXE) or HTTP (UEFI HTTP boot). */
  firmwareDhcp: ChainRow[];
  tftpDone: ChainRow[];
  /** First DHCP row answering a DISCOVER from iPXE (boot = the /boot.ipxe URL). */
  ipxeDiscover?: ChainRow;
  /** First row after ipxeDiscover that completes iPXE's DHCP (ack or proxy-ack). */
  ipxeAck?: ChainRow;
  served?: ChainRow;
  /** ms from iPXE's first DISCOVER to its DHCP done / to the script served. */
  ipxeDhcpMs?: number;
  discoverToScriptMs?: number;
}

const boot = (r: ChainRow) => String(r.detail?.boot ?? "");
const isScriptUrl = (r: ChainRow) => /\/boot\.ipxe$/.test(boot(r));

export function chainSteps(rows: ChainRow[]): ChainSteps {
  const dhcp = rows.filter((r) => r.source === "dhcp");
  const firmwareDhcp = dhcp.filter((r) => /^(tftp|http) /.test(boot(r)));
  const tftpDone = rows.filter((r) => r.source === "tftp" && r.what === "done");
  const ipxeDiscover = dhcp.find(
    (r) => String(r.detail?.type).toUpperCase() === "DISCOVER" && isScriptUrl(r),
  );
  const after = (r: ChainRow) => ipxeDiscover !== undefined && r.time >= ipxeDiscover.time;
  // Full mode: the ACK to iPXE's REQUEST. Proxy mode: the address comes from
  // the other server, so iPXE is done with DHCP when our 4011 ACK went out.
  const ipxeAck = dhcp.find(
    (r) => after(r) && (r.what === "ack" || r.what === "proxy-ack") && isScriptUrl(r),
  );
  const served = rows.find((r) => r.source === "http" && r.what === "boot.ipxe served");
  const steps: ChainSteps = { firmwareDhcp, tftpDone };
  if (ipxeDiscover) steps.ipxeDiscover = ipxeDiscover;
  if (ipxeAck) steps.ipxeAck = ipxeAck;
  if (served) steps.served = served;
  if (ipxeDiscover && ipxeAck) steps.ipxeDhcpMs = ipxeAck.time - ipxeDiscover.time;
  if (ipxeDiscover && served) steps.discoverToScriptMs = served.time - ipxeDiscover.time;
  return steps;
}
