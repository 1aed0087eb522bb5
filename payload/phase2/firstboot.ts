// The first-boot hook phase 1 installs: runs phase 2 once the new system is
// up, disables itself only when phase 2 succeeded. On failure it stays
// enabled, so the next boot retries; sshd is never ordered after it, so the
// machine stays reachable while (or after) phase 2 fails.
import type { InstallSpec } from "../spec/schema.ts";

export const FIRSTBOOT_SERVICE = "automagic-phase2";
/** Files phase 1 writes into opts.stateDir (token mode 0600). */
export const FIRSTBOOT_TOKEN_FILE = "token";
export const FIRSTBOOT_SERVER_FILE = "server";
/** Written by phase 2 when a capture follows: the wrapper then reboots into netboot. */
export const CAPTURE_NEXT_FILE = "capture-next";
/** Written by phase 2 when a slot on trial failed (layout ab): the wrapper then reboots into the old slot. */
export const AB_FALLBACK_FILE = "ab-fallback";
/** UEFI: the boot entry the RAM system was netbooted from (phase 1 reads BootCurrent). */
export const NETBOOT_ENTRY_FILE = "netboot-entry";
export const FIRSTBOOT_LOG = "/var/log/automagic-phase2.log";

export interface FirstBootFile {
  path: string;
  mode: number;
  content: string;
}

export interface FirstBoot {
  files: FirstBootFile[];
  enable: { openrc?: string[]; systemd?: string[] };
}

export interface FirstBootOptions {
  /** Where phase 1 copies automagic-install in the target, e.g. /usr/local/sbin/automagic-install */
  binaryPath: string;
  /** Holds `token` and `server`, e.g. /var/lib/automagic */
  stateDir: string;
}

const WRAPPER = `/usr/local/sbin/${FIRSTBOOT_SERVICE}`;

/** Pure: the files and enable arguments for the spec's init system. */
export function renderFirstBoot(spec: InstallSpec, opts: FirstBootOptions): FirstBoot {
  assertSafePath("binaryPath", opts.binaryPath);
  assertSafePath("stateDir", opts.stateDir);
  const wrapper = { path: WRAPPER, mode: 0o755, content: renderWrapper(spec.init, opts) };
  if (spec.init === "openrc") {
    return {
      files: [
        wrapper,
        { path: `/etc/init.d/${FIRSTBOOT_SERVICE}`, mode: 0o755, content: renderOpenrc(opts) },
      ],
      enable: { openrc: ["add", FIRSTBOOT_SERVICE, "default"] },
    };
  }
  return {
    files: [
      wrapper,
      {
        path: `/etc/systemd/system/${FIRSTBOOT_SERVICE}.service`,
        mode: 0o644,
        content: renderSystemdUnit(opts),
      },
    ],
    enable: { systemd: ["enable", `${FIRSTBOOT_SERVICE}.service`] },
  };
}

// The paths are pasted into shell scripts; refuse anything that would need quoting.
function assertSafePath(field: string, p: string): void {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(p)) {
    throw new Error(`renderFirstBoot: ${field}: ${JSON.stringify(p)} is not a plain absolute path`);
  }
}

function renderWrapper(init: InstallSpec["init"], opts: FirstBootOptions): string {
  const disable =
    init === "openrc"
      ? `rc-update del ${FIRSTBOOT_SERVICE} default`
      : `systemctl disable ${FIRSTBOOT_SERVICE}.service`;
  return `#!/bin/sh
# automagic first-boot hook: runs phase 2 of the install, then disables itself.
# On failure it stays enabled so the next boot retries; the failure has been
# reported to the server by automagic-install itself.
state=${opts.stateDir}
if [ ! -s "$state/${FIRSTBOOT_TOKEN_FILE}" ] || [ ! -s "$state/${FIRSTBOOT_SERVER_FILE}" ]; then
  echo "automagic-phase2: no token or server in $state; nothing to do" >&2
  exit 0
fi
server=$(cat "$state/${FIRSTBOOT_SERVER_FILE}")
token=$(cat "$state/${FIRSTBOOT_TOKEN_FILE}")
echo "automagic-phase2: start $(date -u +%Y-%m-%dT%H:%M:%SZ)"
if ${opts.binaryPath} --phase 2 --server "$server" --token "$token"; then
  # The server revoked the token on run-done; forget it and never run again.
  rm -f "$state/${FIRSTBOOT_TOKEN_FILE}"
  ${disable}
  echo "automagic-phase2: done"
  if [ -e "$state/${CAPTURE_NEXT_FILE}" ]; then
    # postInstall.capture: the same run captures this system from the RAM
    # system. UEFI boots its disk first, so the next boot is the netboot entry.
    rm -f "$state/${CAPTURE_NEXT_FILE}"
    if [ -s "$state/${NETBOOT_ENTRY_FILE}" ] && command -v efibootmgr >/dev/null 2>&1; then
      efibootmgr -q -n "$(cat "$state/${NETBOOT_ENTRY_FILE}")" || echo "automagic-phase2: efibootmgr -n failed" >&2
    fi
    echo "automagic-phase2: rebooting into netboot for the capture"
    sync
    reboot
  fi
  exit 0
else
  rc=$?
  if [ -e "$state/${AB_FALLBACK_FILE}" ]; then
    # Layout ab: this slot was on trial and failed; GRUB boots the previous one next.
    rm -f "$state/${AB_FALLBACK_FILE}"
    echo "automagic-phase2: failed with exit code $rc; rebooting into the previous slot" >&2
    sync
    reboot
    exit "$rc"
  fi
  echo "automagic-phase2: failed with exit code $rc; will retry on next boot" >&2
  exit "$rc"
fi
`;
}

// Backgrounded with start-stop-daemon: emerge can take hours and must not
// hold the default runlevel (and with it a login prompt) hostage.
function renderOpenrc(opts: FirstBootOptions): string {
  return `#!/sbin/openrc-run
# automagic first-boot hook (phase 2 of the install).
description="automagic phase 2: portage, packages, overlay files, services"
command=${WRAPPER}
command_background=yes
pidfile=/run/${FIRSTBOOT_SERVICE}.pid
output_log=${FIRSTBOOT_LOG}
error_log=${FIRSTBOOT_LOG}

depend() {
  need net
  after sshd
}

start_pre() {
  if [ ! -s ${opts.stateDir}/${FIRSTBOOT_TOKEN_FILE} ]; then
    eerror "no phase-2 token in ${opts.stateDir}"
    return 1
  fi
}
`;
}

// Not WantedBy sshd or before it: sshd comes up independently, so a failed
// or hanging phase 2 never locks the operator out.
function renderSystemdUnit(opts: FirstBootOptions): string {
  return `[Unit]
Description=automagic phase 2: portage, packages, overlay files, services
Wants=network-online.target
After=network-online.target sshd.service
ConditionPathExists=${opts.stateDir}/${FIRSTBOOT_TOKEN_FILE}

[Service]
Type=oneshot
ExecStart=${WRAPPER}
TimeoutStartSec=infinity
StandardOutput=append:${FIRSTBOOT_LOG}
StandardError=append:${FIRSTBOOT_LOG}

[Install]
WantedBy=multi-user.target
`;
}
