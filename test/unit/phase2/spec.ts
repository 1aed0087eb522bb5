// A phase-2 test spec: the minimal valid spec plus what phase 2 acts on.
import {
  GENTOO_RELEASE_KEY,
  parseInstallSpec,
  type InstallSpec,
} from "../../../payload/spec/schema.ts";

export function phase2Spec(over: Record<string, unknown> = {}): InstallSpec {
  return parseInstallSpec({
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
    portage: {
      profile: "default/linux/amd64/23.0",
      packageUse: ["app-editors/vim -X", "www-servers/nginx ssl http2", "app-editors/vim -X"],
      acceptKeywords: ["app-misc/tmux ~amd64"],
      license: ["sys-kernel/linux-firmware linux-fw-redistributable"],
      mask: [">=dev-lang/python-3.14"],
    },
    locale: { locales: ["en_US.UTF-8 UTF-8"], lang: "en_US.UTF-8" },
    timezone: "UTC",
    keymap: "us",
    network: { mode: "dhcp" },
    kernel: {},
    packages: ["app-editors/vim", "www-servers/nginx", "@system-tools"],
    services: { enable: ["nginx", "sshd"], disable: ["dhcpcd"] },
    overlay: { present: true, protect: ["/etc/ssh/sshd_config"] },
    postInstall: {},
    ...over,
  });
}
