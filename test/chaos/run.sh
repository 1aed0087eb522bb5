#!/usr/bin/env bash
# make chaos: the adversarial figures in docs/RELIABILITY.md. Each
# test/chaos/*.chaos.ts runs the product as users run it (`automagic serve`
# from a config file inside a network namespace it creates and removes),
# attacks or breaks it, and prints its rows of the table:
#   | scenario | what was done | what was measured | verdict |
# A scenario whose verdict is not "ok" makes the whole run exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t scenarios < <(find test/chaos -name "${1:-*}.chaos.ts" | sort)
if [ ${#scenarios[@]} -eq 0 ]; then echo "make chaos: no scenarios match ${1:-*}" >&2; exit 1; fi
echo "| scenario | done | measured | verdict |"
echo "|---|---|---|---|"
rc=0
for s in "${scenarios[@]}"; do
  npx tsx "$s" || { echo "| $s | | exited non-zero | FAIL |"; rc=1; }
done
exit "$rc"
