# shellcheck shell=sh
# Shared by the boot scripts: `say` writes one line, stamped with seconds
# since the kernel started (where boot time goes), to both consoles and
# /run/automagic/boot.log.
say() {
  read -r up _ < /proc/uptime 2>/dev/null || up=?
  for t in /dev/ttyS0 /dev/tty1; do
    [ -c "$t" ] && printf 'automagic: [%s] %s\n' "$up" "$*" > "$t" 2>/dev/null
  done
  printf '[%s] automagic: %s\n' "$up" "$*" >> /run/automagic/boot.log 2>/dev/null
  return 0
}
