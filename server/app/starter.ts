// What `automagic init` writes: a commented serve.yaml and a hosts folder
// (defaults.yaml, one example host, the JSON Schema editors read). Pure:
// the files as (relative path, text); the command writes them.
import { renderJsonSchema } from "../hosts/index.ts";

export interface StarterFile {
  path: string;
  text: string;
}

const SERVE_YAML = `# automagic serve's configuration (automagic serve reads
# /etc/automagic/serve.yaml when no --config is given). Every key is optional;
# flags override it. Relative paths are relative to this file's folder.

# The interface machines netboot on: DHCP binds to it, Wake-on-LAN goes out on it.
# interface: eth1
# Address HTTP and TFTP listen on (and the DHCP server identifier).
listen: 127.0.0.1
# http: { port: 8080 }             # machines fetch /boot.ipxe, kernel, initrd here
# tftp: { port: 69 }               # { enabled: false } to skip (UEFI HTTP boot only)
# serverUrl: http://10.0.0.1:8080  # how machines reach us, if not http://<listen>:<port>

dhcp:
  # off: another DHCP server boots machines into iPXE (chain to http://SERVER/boot.ipxe)
  # proxy: beside your DHCP server, answering only PXE clients
  # full: we hand out addresses too; needs a subnet:
  #   subnet: { network: 10.0.0.0, prefixLen: 24, poolStart: 10.0.0.100, poolEnd: 10.0.0.200 }
  mode: off

hostsDir: hosts                    # one <name>.yaml per machine (automagic hosts validate)
# stateDir: /var/lib/automagic     # state database, admin token, captures, leases
# imagesDir: /var/lib/automagic/images   # images/current -> <id>/{vmlinuz,initrd.img}
# ipxeDir: /usr/lib/ipxe           # undionly.kpxe, snponly.efi (Debian: apt install ipxe)

# The verifying Gentoo cache machines install from (/mirror/).
# mirror:
#   upstream: https://distfiles.gentoo.org
#   keysDir: mirror-keys           # Gentoo's public keys as <FINGERPRINT>.asc
#   cacheDir: /var/lib/automagic/mirror-cache
#   maxCacheGiB: 50

# Commissioning: a machine no host file claims boots the RAM system once,
# reports its hardware (automagic inventory MAC; automagic hosts draft MAC
# writes its host file) and powers off. Off: unknown machines boot their disk.
# commission: { unknown: true, then: poweroff }   # then: reboot (to the disk)

# tokenTtl: 6h       # run token lifetime
# stallAfter: 15m    # a silent run shows as stalled
# armFor: 24h        # an armed action no machine boots goes back to local
# localBoot: exit    # or sanboot, for firmware that hangs on iPXE exit
# adminTokenFile: admin-token      # mode 0600; default <stateDir>/admin-token, generated
logLevel: info
`;

const DEFAULTS_YAML = `# yaml-language-server: $schema=host.schema.json
# Shared values for every host in this folder. A host file overrides any of
# them; mappings merge key by key, lists replace whole, \`null\` removes a value.
rootfs: ext4
init: openrc
portage:
  profile: default/linux/amd64/23.0
  binhost: true
  # Firmware and microcode (kernel.linuxFirmware, kernel.intelMicrocode, on by
  # default) are not free software: accepting their licences is said here.
  license:
    - "sys-kernel/linux-firmware linux-fw-redistributable"
    - "sys-firmware/intel-microcode intel-ucode"
locale:
  locales: ["en_US.UTF-8 UTF-8"]
  lang: en_US.UTF-8
timezone: UTC
keymap: us
network:
  mode: dhcp
services:
  enable: [sshd]
`;

const EXAMPLE_YAML = `# yaml-language-server: $schema=host.schema.json
# One machine: copy this file to <hostname>.yaml, set its MAC and disk, then
# \`automagic hosts validate\` and \`automagic next <hostname> install\`.
# Nothing happens to a machine until a person arms it; unarmed, it boots its disk.

# Every NIC that may PXE boot (quote it, so YAML reads text).
macs: ["02:00:00:00:00:01"]
firmware: uefi # or bios

# The target disk, by something that does not change between boots
# (serial, wwn or a /dev/disk/by-id path; never /dev/sda).
disk:
  serial: CHANGE-ME-DISK-SERIAL

# keep: reuse the partition table and reformat only the root partition.
layout:
  mode: keep
  root: { partlabel: gentoo-root }
  esp: { partlabel: EFI }

# /home is never formatted.
home:
  ref: { label: home }
  fs: ext4

users:
  - name: root
    uid: 0
    gid: 0
    home: /root
    password: "!" # locked: ssh keys only (or a crypt(3) hash: mkpasswd -m yescrypt)
    authorizedKeys:
      - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithYourOwnPublicKey0000000000 you@laptop"
`;

export function starterFiles(): StarterFile[] {
  return [
    { path: "serve.yaml", text: SERVE_YAML },
    { path: "hosts/defaults.yaml", text: DEFAULTS_YAML },
    { path: "hosts/example.yaml", text: EXAMPLE_YAML },
    { path: "hosts/host.schema.json", text: renderJsonSchema() },
  ];
}
