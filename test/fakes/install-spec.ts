// The smallest install spec the schema accepts, as the unparsed input a
// server would send: schema tests break it field by field, phase-2 tests
// add what phase 2 acts on. A fresh object on every call.
import { GENTOO_RELEASE_KEY, type InstallSpecInput } from "../../payload/spec/schema.ts";

export function minimalSpecInput(): InstallSpecInput {
  return {
    version: 1,
    host: "web1",
    hostname: "web1",
    macs: ["52:54:00:12:34:56"],
    firmware: "bios",
    disk: { serial: "QM00001" },
    layout: { mode: "keep", root: { partlabel: "root" } },
    home: { ref: { label: "home" }, fs: "ext4" },
    rootfs: "ext4",
    init: "openrc",
    stage3: {
      variant: "openrc",
      mirror: "http://10.0.0.1/mirror/",
      trustedKeys: [GENTOO_RELEASE_KEY],
    },
    portage: { profile: "default/linux/amd64/23.0" },
    locale: { locales: ["en_US.UTF-8 UTF-8"], lang: "en_US.UTF-8" },
    timezone: "UTC",
    keymap: "us",
    network: { mode: "dhcp" },
    kernel: {},
    services: {},
    overlay: { present: false },
    postInstall: {},
  };
}
