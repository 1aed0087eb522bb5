#!/usr/bin/env bash
# Installs this automagic release as a service. Run as root from the
# unpacked folder: ./install.sh
#   PREFIX   where the program goes         (default /opt/automagic)
#   BINDIR   where `automagic` is linked    (default /usr/local/bin)
#   UNITDIR  where the systemd unit goes    (default /etc/systemd/system)
# Writes a starter /etc/automagic (automagic init) only when it has no
# serve.yaml; never touches an existing config, host file or state. Does not
# enable or start the service: README.md says what to set first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-/opt/automagic}
BINDIR=${BINDIR:-/usr/local/bin}
UNITDIR=${UNITDIR:-/etc/systemd/system}

"$here/share/check-node"
want=$(cat "$here/share/node-abi")
have=$(node -p process.versions.modules)
if [ "$want" != "$have" ]; then
  echo "install.sh: this release's better-sqlite3 is built for Node ABI $want, node $(node -v) is ABI $have;" >&2
  echo "  use the Node major it was built with, or make release on this machine" >&2
  exit 1
fi

# A new copy beside the old one, then swapped in: a running service keeps
# its files until it restarts.
rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new" "$BINDIR" "$UNITDIR"
cp -r "$here/bin" "$here/lib" "$here/node_modules" "$here/share" "$here/README.md" "$PREFIX.new/"
if [ -e "$PREFIX" ]; then rm -rf "$PREFIX.old" && mv "$PREFIX" "$PREFIX.old"; fi
mv "$PREFIX.new" "$PREFIX"
rm -rf "$PREFIX.old"
ln -sfn "$PREFIX/bin/automagic" "$BINDIR/automagic"
sed "s#/opt/automagic#$PREFIX#g" "$here/share/automagic.service" >"$UNITDIR/automagic.service"
echo "installed $(cat "$here/share/version") in $PREFIX, $BINDIR/automagic, $UNITDIR/automagic.service"

etc=${AUTOMAGIC_ROOT:-}/etc/automagic
if [ ! -e "$etc/serve.yaml" ]; then "$PREFIX/bin/automagic" init; fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "next: edit $etc/serve.yaml and $etc/hosts/, put a netboot image in /var/lib/automagic/images,"
echo "      then: systemctl enable --now automagic"
