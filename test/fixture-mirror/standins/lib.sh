# Shared by the recording stand-ins (test fixture only; never shipped).
# Each stand-in appends one JSON line per call to $STANDIN_LOG:
#   {"tool":"emerge","argv":[...],"exit":0,"time":"...","cwd":"/"}
# and exits 0 only for argument forms a real Gentoo tool would accept.
export LC_ALL=C
STANDIN_LOG=${AUTOMAGIC_STANDIN_LOG:-/var/log/automagic-standins.jsonl}
STANDIN_TOOL=""
STANDIN_ARGV=()

json_str() {
  local s=$1 out="" c i
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  if [[ $s == *[$'\x01'-$'\x1f']* ]]; then
    for ((i = 0; i < ${#s}; i++)); do
      c=${s:i:1}
      if [[ $c == [$'\x01'-$'\x1f'] ]]; then printf -v c '\\u%04x' "'$c"; fi
      out+=$c
    done
    s=$out
  fi
  printf '"%s"' "$s"
}

standin_record() {
  local code=$1 a sep="" line
  line="{\"tool\":$(json_str "$STANDIN_TOOL"),\"argv\":["
  for a in "${STANDIN_ARGV[@]}"; do
    line+="$sep$(json_str "$a")"
    sep=","
  done
  line+="],\"exit\":$code,\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"cwd\":$(json_str "$PWD")}"
  mkdir -p "$(dirname "$STANDIN_LOG")"
  printf '%s\n' "$line" >>"$STANDIN_LOG"
}

# standin_start TOOL "$@": remember argv and record it with the exit code on exit.
standin_start() {
  STANDIN_TOOL=$1
  shift
  STANDIN_ARGV=("$@")
  trap 'standin_record $?' EXIT
}

die() {
  printf '%s\n' "$*" >&2
  exit 1
}
