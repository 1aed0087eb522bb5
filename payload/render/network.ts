// Pure: the network configuration of the installed system. The NIC is found
// by its MAC and given a fixed name (a systemd .link file, or a udev rule
// on OpenRC), because the installed kernel and udev may name it differently
// than the RAM system did; everything else is configured on that name.
// OpenRC uses dhcpcd for DHCP (net-misc/dhcpcd, which the system-packages
// step emerges) and netifrc for a static address; systemd uses networkd.
import type { InstallSpec } from "../spec/schema.ts";
import type { PlannedFile } from "../plan/types.ts";

/** The name the installed system gives its NIC when the spec names none. */
export const DEFAULT_IFNAME = "lan0";

export interface NetworkPlan {
  /** The interface name the installed system will use. */
  ifname: string;
  /** The MAC that name is bound to. */
  mac: string;
  files: PlannedFile[];
  commands: string[][];
}

const file = (path: string, lines: string[]): PlannedFile => ({
  path,
  content: ["# Written by automagic-install.", ...lines, ""].join("\n"),
  mode: 0o644,
});

/**
 * bootNic is the NIC the firmware netbooted from (BOOTIF); without it the
 * spec's first MAC is the one that gets the name.
 */
export function renderNetwork(
  spec: InstallSpec,
  bootNic: { mac: string } | undefined,
): NetworkPlan {
  const net = spec.network;
  const ifname = net.interface ?? DEFAULT_IFNAME;
  const mac = (bootNic?.mac ?? spec.macs[0]!).toLowerCase();
  if (spec.init === "systemd") {
    const body =
      net.mode === "dhcp"
        ? ["DHCP=yes"]
        : [`Address=${net.address}`, `Gateway=${net.gateway}`, ...net.dns.map((d) => `DNS=${d}`)];
    return {
      ifname,
      mac,
      files: [
        file(`/etc/systemd/network/10-${ifname}.link`, [
          "[Match]",
          `MACAddress=${mac}`,
          "",
          "[Link]",
          `Name=${ifname}`,
        ]),
        file("/etc/systemd/network/50-automagic.network", [
          "[Match]",
          `Name=${ifname}`,
          "",
          "[Network]",
          ...body,
        ]),
      ],
      commands: [
        ["systemctl", "enable", "systemd-networkd.service"],
        ["systemctl", "enable", "systemd-resolved.service"],
      ],
    };
  }
  const rule = file("/etc/udev/rules.d/70-automagic-net.rules", [
    `SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="${mac}", NAME="${ifname}"`,
  ]);
  if (net.mode === "dhcp") {
    return { ifname, mac, files: [rule], commands: [["rc-update", "add", "dhcpcd", "default"]] };
  }
  // netifrc's variable names carry the interface name with . and - as _.
  const v = ifname.replace(/[^A-Za-z0-9_]/g, "_");
  const dns = net.dns.length ? [`dns_servers_${v}="${net.dns.join(" ")}"`] : [];
  return {
    ifname,
    mac,
    files: [
      rule,
      file("/etc/conf.d/net", [
        `config_${v}="${net.address}"`,
        `routes_${v}="default via ${net.gateway}"`,
        ...dns,
      ]),
    ],
    commands: [
      ["ln", "-sfn", "net.lo", `/etc/init.d/net.${ifname}`],
      ["rc-update", "add", `net.${ifname}`, "default"],
    ],
  };
}
