// Pure: the network configuration of the installed system. OpenRC uses
// dhcpcd for DHCP and netifrc for a static address; systemd uses networkd.
// A .network file matches the NIC that booted by MAC when we know it, since
// the installed kernel may name interfaces differently than the RAM system.
import type { InstallSpec } from "../spec/schema.ts";
import type { PlannedFile } from "../plan/types.ts";

export interface NetworkPlan {
  files: PlannedFile[];
  commands: string[][];
}

export function renderNetwork(
  spec: InstallSpec,
  bootNic: { mac: string; name?: string } | undefined,
): NetworkPlan {
  const net = spec.network;
  const ifname = net.interface ?? bootNic?.name;
  if (spec.init === "systemd") {
    const match = net.interface
      ? [`Name=${net.interface}`]
      : bootNic
        ? [`MACAddress=${bootNic.mac}`]
        : ["Name=en* eth*"];
    const body =
      net.mode === "dhcp"
        ? ["DHCP=yes"]
        : [`Address=${net.address}`, `Gateway=${net.gateway}`, ...net.dns.map((d) => `DNS=${d}`)];
    return {
      files: [
        {
          path: "/etc/systemd/network/50-automagic.network",
          content: [
            "# Written by automagic-install.",
            "[Match]",
            ...match,
            "",
            "[Network]",
            ...body,
            "",
          ].join("\n"),
          mode: 0o644,
        },
      ],
      commands: [
        ["systemctl", "enable", "systemd-networkd.service"],
        ["systemctl", "enable", "systemd-resolved.service"],
      ],
    };
  }
  if (net.mode === "dhcp") {
    return { files: [], commands: [["rc-update", "add", "dhcpcd", "default"]] };
  }
  if (!ifname)
    throw new Error("network.interface: a static address on OpenRC needs an interface name");
  const dns = net.dns.length ? [`dns_servers_${ifname}="${net.dns.join(" ")}"`] : [];
  return {
    files: [
      {
        path: "/etc/conf.d/net",
        content: [
          "# Written by automagic-install.",
          `config_${ifname}="${net.address}"`,
          `routes_${ifname}="default via ${net.gateway}"`,
          ...dns,
          "",
        ].join("\n"),
        mode: 0o644,
      },
    ],
    commands: [
      ["ln", "-sfn", "net.lo", `/etc/init.d/net.${ifname}`],
      ["rc-update", "add", `net.${ifname}`, "default"],
    ],
  };
}
