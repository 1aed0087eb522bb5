# Sourced by bin/setup-debian and bin/setup-debian-test.
# apt_install NAME PKG...: installs the packages dpkg does not have yet.
apt_install() {
  local who=$1 p
  shift
  if [ "$(id -u)" != 0 ]; then echo "$who: must run as root (it installs packages)" >&2; exit 1; fi
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
