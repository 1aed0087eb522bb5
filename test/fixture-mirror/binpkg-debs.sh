#!/bin/bash
# mmdebstrap --customize-hook (runs before the apt cache is synced out):
# downloads the Debian packages the fixture ebuilds install, so the binhost
# build finds them in the apt cache, and installs into the stage3 the
# dependencies no ebuild claims: shared libraries and the few in STAGE3_DEPS
# (see packages.ts). An unclaimed dependency of any other kind fails here.
#   binpkg-debs.sh ROOT MANIFEST_OUT "EBUILD_DEBS" "STAGE3_DEPS" "IGNORED_DEPS" KERNEL_META
set -euo pipefail
root=$1 manifest=$2 kmeta=$6
read -r -a claimed <<<"$3"
read -r -a stage3deps <<<"$4"
read -r -a ignored <<<"$5"
in_list() { local x=$1; shift; for y in "$@"; do [[ $x == "$y" ]] && return 0; done; return 1; }

# The kernel meta package stands for the image package it depends on.
kimage=$(chroot "$root" apt-cache depends "$kmeta" | awk '/Depends: linux-image-/{print $2; exit}')
[[ -n $kimage ]] || { echo "binpkg-debs.sh: $kmeta names no linux-image package" >&2; exit 1; }
claimed+=("$kimage")

# What installing every ebuild's packages would pull in ("Inst name (version ...").
mapfile -t inst < <(chroot "$root" apt-get -s install --no-install-recommends "${claimed[@]}" |
  awk '/^Inst /{v=$3; gsub(/[()\[\]]/,"",v); print $2" "v}')
libs=() bad=()
for line in "${inst[@]}"; do
  name=${line%% *}
  in_list "$name" "${claimed[@]}" && continue
  in_list "$name" "${ignored[@]}" && continue
  if [[ $name == lib* ]] || in_list "$name" "${stage3deps[@]}"; then libs+=("$name"); else bad+=("$name"); fi
done
if ((${#bad[@]})); then
  echo "binpkg-debs.sh: dependencies no fixture ebuild installs and the stage3 may not carry: ${bad[*]}" >&2
  echo "  (claim them in an ebuild's debs, or list them in STAGE3_DEPS / IGNORED_DEPS in packages.ts)" >&2
  exit 1
fi
chroot "$root" apt-get install -y -qq --download-only --no-install-recommends "${claimed[@]}" >/dev/null
if ((${#libs[@]})); then chroot "$root" apt-get install -y -qq --no-install-recommends "${libs[@]}" >/dev/null; fi
# "name version arch" per claimed package, for binhost.ts (apt's cache names
# the file name_version_arch.deb, an epoch's colon written %3a).
: >"$manifest"
for line in "${inst[@]}"; do
  name=${line%% *}
  in_list "$name" "${claimed[@]}" || continue
  chroot "$root" apt-cache show --no-all-versions "$name" |
    awk -v n="$name" '/^Version:/{v=$2} /^Architecture:/{a=$2} END{print n" "v" "a}' >>"$manifest"
done
