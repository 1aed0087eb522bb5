#!/usr/bin/env bash
# make bench: runs every test/bench/*.bench.ts in turn. Each prints its
# figures and the peer's figures from the same run; docs/PERFORMANCE.md
# records them with the command.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t benches < <(find test/bench -name '*.bench.ts' | sort)
if [ ${#benches[@]} -eq 0 ]; then echo "make bench: no benchmarks yet" >&2; exit 1; fi
for b in "${benches[@]}"; do
  echo "== $b"
  npx tsx "$b"
done
