#!/bin/bash
# Installs Gentoo's own Portage and getuto (upstream sources, unmodified) into
# a fixture root, the way a stage3 carries them: Portage runs from its source
# tree at /usr/lib/portage (its `bin/` wrappers find `lib/` themselves), with
# the usual commands on PATH, make.globals and sets in /usr/share/portage/config,
# and the portage user and group (uid/gid 250, as acct-user/portage).
#   install-portage.sh ROOT PORTAGE_SRC GETUTO_SRC
set -euo pipefail
root=$1 portage=$2 getuto=$3
dest=$root/usr/lib/portage
rm -rf "$dest"
mkdir -p "$dest"
cp -a "$portage/." "$dest/"
chmod -R u+w "$dest"
# A copy made without symlink support (as ../shared/vendor is) holds a symlink
# as a one-line file naming its target; git checkouts keep real links. Restore
# those under bin/ (ebuild-ipc -> ebuild-pyhelper, newins helpers, ...).
while IFS= read -r -d '' f; do
  t=$(<"$f")
  [[ -n $t && $t != *$'\n'* && -e "$(dirname "$f")/$t" ]] || continue
  [[ $(wc -c <"$f") -eq ${#t} ]] || continue # a real link target has no trailing newline
  ln -sfn "$t" "$f"
done < <(find "$dest/bin" -type f -size -200c -print0)
for b in emerge ebuild portageq egencache emaint quickpkg gpkg-sign emerge-webrsync; do
  ln -sfn ../lib/portage/bin/$b "$root/usr/bin/$b"
done
for b in env-update etc-update dispatch-conf archive-conf; do
  ln -sfn ../lib/portage/bin/$b "$root/usr/sbin/$b"
done
install -m 0755 "$getuto/getuto" "$root/usr/bin/getuto"
mkdir -p "$root/usr/share/portage/config/sets"
install -m 0644 "$portage/cnf/make.globals" "$root/usr/share/portage/config/make.globals"
install -m 0644 "$portage/cnf/sets/portage.conf" "$root/usr/share/portage/config/sets/portage.conf"
chroot "$root" getent group portage >/dev/null || chroot "$root" groupadd -r -g 250 portage
chroot "$root" getent passwd portage >/dev/null ||
  chroot "$root" useradd -r -u 250 -g portage -d /var/lib/portage/home -s /usr/sbin/nologin -c "portage" portage
mkdir -p "$root/var/lib/portage/home"
chroot "$root" chown portage:portage /var/lib/portage/home
