// Pure: what /proc, /sys and the kernel log say, as inventory fields. Each
// function takes the text (or bytes) a file or command gave and returns
// data, so every case is tested on recorded outputs (test/fixtures/discover/).
import type { InventoryNic, InventoryProblem } from "../spec/inventory.ts";

/**
 * SecureBoot-8be4df61-... and SetupMode-8be4df61-... under efivarfs: 4 bytes
 * of attributes, then the value byte (UEFI 2.x, 3.3 "Globally Defined
 * Variables"). SetupMode 1 means no platform key is enrolled: Secure Boot
 * is not enforced whatever SecureBoot says.
 */
export function secureBootState(
  secureBoot: Uint8Array | undefined,
  setupMode: Uint8Array | undefined,
): "enabled" | "disabled" | "setup-mode" | "unknown" {
  const value = (b: Uint8Array | undefined) => (b && b.length >= 5 ? b[4] : undefined);
  const sb = value(secureBoot);
  if (value(setupMode) === 1) return "setup-mode";
  if (sb === 1) return "enabled";
  if (sb === 0) return "disabled";
  return "unknown";
}

/** /proc/cpuinfo (x86): the first model name, logical CPUs, physical packages. */
export function parseCpuinfo(text: string): { model: string; count: number; sockets?: number } {
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  const field = (b: string, k: string) =>
    new RegExp(`^${k}\\s*:\\s*(.*)$`, "m").exec(b)?.[1]?.trim();
  const model = blocks.map((b) => field(b, "model name")).find(Boolean) ?? "unknown";
  const ids = new Set(blocks.map((b) => field(b, "physical id")).filter((v) => v !== undefined));
  return {
    model: model.replace(/\s+/g, " "),
    count: blocks.length,
    ...(ids.size ? { sockets: ids.size } : {}),
  };
}

/** MemTotal from /proc/meminfo, in bytes. */
export function memTotalBytes(meminfo: string): number {
  return Number(/^MemTotal:\s+(\d+)\s*kB/m.exec(meminfo)?.[1] ?? 0) * 1024;
}

// "[    3.123456] r8169 0000:02:00.0: firmware: failed to load rtl_nic/rtl8168h-2.fw (-2)"
// "[    4.000001] bnx2 0000:01:00.0: Direct firmware load for bnx2/bnx2-mips-09-6.2.1b.fw failed with error -2"
const FW_FAILED = /^(\S+) (\S+): firmware: failed to load (\S+)(?: \((-?\d+)\))?/;
const FW_DIRECT = /^(\S+) (\S+): Direct firmware load for (\S+) failed with error (-?\d+)/;

/**
 * Firmware files a driver asked for and did not get, from `dmesg` output (with
 * or without timestamps). The kernel logs both lines for one miss; each
 * (device, file) is reported once.
 */
export function firmwareFailures(dmesg: string): InventoryProblem[] {
  const seen = new Set<string>();
  const out: InventoryProblem[] = [];
  for (const raw of dmesg.split("\n")) {
    const line = raw.replace(/^\[\s*[\d.]+\]\s*/, "").replace(/^<\d+>/, "");
    const m = FW_FAILED.exec(line) ?? FW_DIRECT.exec(line);
    if (!m) continue;
    const [, driver, device, file, err] = m as unknown as [string, string, string, string, string?];
    const key = `${device} ${file}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      kind: "firmware-missing",
      device,
      driver,
      file,
      message: `${driver} ${device}: firmware ${file} could not be loaded${err ? ` (error ${err})` : ""}: the device may not work in the RAM system`,
    });
  }
  return out;
}

/** A PCI function as /sys/bus/pci/devices/<slot>/ shows it. */
export interface PciFunction {
  slot: string;
  /** The class file: "0x010802" (NVMe), "0x020000" (Ethernet). */
  class: string;
  vendor: string;
  device: string;
  /** Basename of the driver link; absent when no driver is bound. */
  driver?: string;
}

const CLASS_NAMES: Array<[RegExp, string]> = [
  [/^0x0108/, "NVMe controller"],
  [/^0x0106/, "SATA controller"],
  [/^0x0104/, "RAID controller"],
  [/^0x0107/, "SAS controller"],
  [/^0x01/, "storage controller"],
  [/^0x0200/, "Ethernet controller"],
  [/^0x02/, "network controller"],
];

/** Storage and network controllers no driver took: the RAM image lacks their module. */
export function unboundControllers(pci: PciFunction[]): InventoryProblem[] {
  const out: InventoryProblem[] = [];
  for (const f of pci) {
    const what = CLASS_NAMES.find(([re]) => re.test(f.class))?.[1];
    if (!what || f.driver) continue;
    const id = `${f.vendor.replace(/^0x/, "")}:${f.device.replace(/^0x/, "")}`;
    out.push({
      kind: "no-driver",
      device: f.slot,
      message: `${what} ${f.slot} [${id}] has no driver in the RAM system`,
    });
  }
  return out;
}

/** What /sys/class/net/<name>/ says about one interface. */
export interface NicFacts {
  name: string;
  address: string;
  /** The `type` file: 1 is Ethernet (loopback is 772). */
  type: string;
  operstate: string;
  /** `speed`: Mb/s, -1 or unreadable while the link is down. */
  speed?: string;
  /** Basename of device/driver, when the NIC has a device behind it. */
  driver?: string;
  /** Basename of the device link: its PCI or USB address. */
  bus?: string;
}

/** The inventory's view of a NIC; undefined for what is not a wired Ethernet-type port (lo). */
export function nicOf(f: NicFacts, netbootMac: string | undefined): InventoryNic | undefined {
  if (f.type !== "1" || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(f.address)) return undefined;
  const mac = f.address.toLowerCase();
  const speed = Number(f.speed);
  const link = f.operstate === "up" ? "up" : f.operstate === "down" ? "down" : "unknown";
  return {
    name: f.name,
    mac,
    ...(f.driver ? { driver: f.driver } : {}),
    ...(f.bus ? { bus: f.bus } : {}),
    ...(Number.isInteger(speed) && speed > 0 ? { speedMbps: speed } : {}),
    link,
    netboot: netbootMac !== undefined && mac === netbootMac.toLowerCase(),
  };
}

/** os-release: PRETTY_NAME, else NAME, else ID; and the ID alone. */
export function parseOsRelease(text: string): { id?: string; name?: string } {
  const get = (k: string) => {
    const v = new RegExp(`^${k}=(.*)$`, "m").exec(text)?.[1]?.trim();
    return v?.replace(/^(["'])(.*)\1$/, "$2");
  };
  const name = get("PRETTY_NAME") ?? get("NAME") ?? get("ID");
  const id = get("ID");
  return { ...(id ? { id } : {}), ...(name ? { name } : {}) };
}
