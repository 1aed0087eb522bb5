#!/bin/bash
# mmdebstrap --customize-hook for the fixture stage3: dresses a Debian trixie
# root as a Gentoo stage3 (see README.md for every bridge and why).
#   customize.sh ROOT VARIANT FIXTURE_SRC_DIR PUBKEY_FILE PORTAGE_SRC GETUTO_SRC
set -euo pipefail
root=$1 variant=$2 src=$3 pubkey=$4 portage=$5 getuto=$6
b=$src/bridges

# --- Portage's places, as a stage3 ships them
mkdir -p "$root"/etc/portage/{package.use,package.accept_keywords,package.license,package.mask,package.env,repos.conf,binrepos.conf}
install -m 0644 "$b/make.conf" "$root/etc/portage/make.conf"
mkdir -p "$root/usr/share/portage/config"
install -m 0644 "$b/repos.conf" "$root/usr/share/portage/config/repos.conf"
mkdir -p "$root"/var/db/{repos,pkg} "$root"/var/lib/portage "$root"/var/cache/{distfiles,binpkgs} "$root/etc/env.d"
: >"$root/var/lib/portage/world"
mkdir -p "$root/usr/share/openpgp-keys"
install -m 0644 "$pubkey" "$root/usr/share/openpgp-keys/gentoo-release.asc"
# The profile link a stage3 ships, dangling until the snapshot is extracted.
ln -sfn ../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0 "$root/etc/portage/make.profile"
echo "Gentoo Base System release 2.17" >"$root/etc/gentoo-release"
install -m 0644 "$b/fstab" "$root/etc/fstab"
install -m 0644 "$b/profile-env.sh" "$root/etc/profile.d/00-gentoo-profile-env.sh"
echo localhost >"$root/etc/hostname"
# Gentoo's baselayout has `wheel` (gid 10); Debian has none and uses gid 10 for
# uucp, so wheel gets a free system gid here (a bridge: see README.md).
chroot "$root" groupadd -r wheel

# --- Gentoo's own Portage and getuto (real, from their upstream sources)
bash "$src/install-portage.sh" "$root" "$portage" "$getuto"
# app-arch/tar installs GNU tar as gtar too; Portage's unpack calls it by that name.
ln -sfn tar "$root/usr/bin/gtar"

# --- the one recording stand-in left: eselect (the real one is not reachable here)
install -D -m 0644 "$src/standins/lib.sh" "$root/usr/lib/automagic-standins/lib.sh"
install -m 0755 "$src/standins/eselect" "$root/usr/bin/"
printf 'automagic fixture stage3 (Debian trixie dressed as Gentoo, variant %s)\nstand-in: eselect -> /var/log/automagic-standins.jsonl; emerge, env-update, getuto are real\n' \
  "$variant" >"$root/etc/automagic-fixture-stage3"

# --- init bridges: Gentoo service names on Debian packages
case $variant in
  openrc)
    install -m 0755 "$b/openrc-sshd" "$root/etc/init.d/sshd"
    install -m 0755 "$b/openrc-net.lo" "$root/etc/init.d/net.lo"
    # Debian enabled its own `ssh`; a Gentoo stage3 enables nothing, the installer must.
    find "$root/etc/runlevels" -name ssh -delete 2>/dev/null || true
    # Debian's LSB `ssh` script declares `Provides: sshd`; OpenRC then refuses
    # our real `sshd` ("the name of a real and virtual service"). Remove it.
    rm -f "$root/etc/init.d/ssh"
    rm -f "$root"/etc/rc?.d/[SK]??ssh
    # serial console login, as Gentoo's inittab `s0` line would give
    sed -i -E 's|^#?T0:.*|T0:2345:respawn:/sbin/agetty -L 115200 ttyS0 vt100|' "$root/etc/inittab"
    grep -q '^T0:' "$root/etc/inittab" || echo 'T0:2345:respawn:/sbin/agetty -L 115200 ttyS0 vt100' >>"$root/etc/inittab"
    ;;
  systemd)
    install -m 0644 "$b/systemd-sshd.service" "$root/usr/lib/systemd/system/sshd.service"
    # Gentoo builds systemd without SysV support (-Dsysvinit-path=); Debian's
    # systemctl hands a unit with a same-named /etc/init.d script to
    # update-rc.d, which rejects Gentoo's OpenRC scripts. A no-op, as Gentoo's.
    printf '#!/bin/sh\n# fixture bridge: Gentoo systemd has no SysV hand-off\nexit 0\n' >"$root/usr/lib/systemd/systemd-sysv-install"
    rm -f "$root/etc/systemd/system/multi-user.target.wants/ssh.service" "$root/etc/systemd/system/sshd.service"
    mkdir -p "$root/etc/systemd/system/getty.target.wants"
    ln -sf /usr/lib/systemd/system/serial-getty@.service "$root/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
    ;;
  *) echo "customize.sh: unknown variant $variant" >&2; exit 2 ;;
esac

# --- no identity baked in: every install gets its own
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# --- size: what a stage3 does not need
rm -rf "$root"/usr/share/{doc,man,info}/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old
find "$root/var/log" -type f -delete
