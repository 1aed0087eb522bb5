// A host registry built from object literals, for control-plane unit tests
// (server/http, server/policy). Real host files are tested by server/hosts.
import type { HostEntry, HostRegistry } from "../../server/hosts/index.ts";
import type { InstallSpec } from "../../payload/spec/schema.ts";

export function fakeHost(name: string, macs: string[], extra: Partial<HostEntry> = {}): HostEntry {
  return {
    name,
    file: `hosts/${name}.yaml`,
    macs,
    firmware: "uefi",
    groups: [],
    raw: {} as HostEntry["raw"], // the policy/http code under test never reads raw
    ...extra,
  };
}

export function fakeRegistry(hosts: HostEntry[], dir = "hosts"): HostRegistry {
  return {
    dir,
    hosts,
    byMac: (mac) => hosts.find((h) => h.macs.includes(mac.toLowerCase())),
    byName: (name) => hosts.find((h) => h.name === name),
  };
}

/** A spec-shaped object with a recognisable secret, so tests can assert it never leaks. */
export const SECRET_HASH = "$6$fakesalt$fakehashfakehashfakehash";

export function fakeSpec(host: HostEntry): InstallSpec {
  return {
    version: 1,
    host: host.name,
    hostname: host.name,
    macs: host.macs,
    firmware: host.firmware,
    disk: { serial: "FAKE-SERIAL" },
    layout: { mode: "create", wipe: true, espBytes: 512 << 20, swapBytes: 0 },
    home: { ref: { label: "home" }, fs: "ext4", options: "defaults" },
    rootfs: "ext4",
    init: "openrc",
    stage3: {
      variant: "openrc",
      mirror: "http://127.0.0.1/mirror/",
      trustedKeys: ["13EBBDBEDE7A12775DFDB1BABB572E0E2D182910"],
    },
    portage: {
      profile: "default/linux/amd64/23.0",
      makeConf: {},
      binhost: true,
      sync: false,
      packageUse: [],
      acceptKeywords: [],
      license: [],
      mask: [],
      keepGoing: true,
    },
    locale: { locales: ["en_US.UTF-8 UTF-8"], lang: "en_US.UTF-8" },
    timezone: "UTC",
    keymap: "us",
    network: { mode: "dhcp" },
    users: [
      {
        name: "root",
        uid: 0,
        gid: 0,
        groups: [],
        shell: "/bin/bash",
        password: SECRET_HASH,
        authorizedKeys: [],
      },
    ],
    groups: [],
    keepSshHostKeys: false,
    kernel: {
      package: "sys-kernel/gentoo-kernel-bin",
      cmdline: "",
      linuxFirmware: true,
      intelMicrocode: true,
    },
    packages: [],
    services: { enable: [], disable: [] },
    overlay: { present: false, protect: [] },
    postInstall: { capture: false },
    sysimgs: {},
  };
}
