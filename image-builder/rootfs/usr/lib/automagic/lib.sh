# shellcheck shell=sh
# Shared by the boot scripts: `say` writes one line to both consoles.
say() {
  for t in /dev/ttyS0 /dev/tty1; do
    [ -c "$t" ] && printf 'automagic: %s\n' "$*" > "$t" 2>/dev/null
  done
  printf '%s automagic: %s\n' "$(date +%T)" "$*" >> /run/automagic/boot.log 2>/dev/null
  return 0
}
