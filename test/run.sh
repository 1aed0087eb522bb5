#!/usr/bin/env bash
# Runs test suites with node's built-in runner (TypeScript through tsx).
#   test/run.sh unit|integration|e2e|e2e-uefi|all
# unit: pure, no root. integration: root, network namespaces, loop devices.
# e2e: QEMU machines netbooting from the server inside a namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
level=${1:-all}
run_suite() {
  local dir=$1; shift
  mapfile -t files < <(find "test/$dir" -name '*.test.ts' | sort)
  if [ ${#files[@]} -eq 0 ]; then echo "test/run.sh: no tests in test/$dir" >&2; return 1; fi
  echo "== $dir: ${#files[@]} files"
  node --import tsx --test --test-reporter=spec "$@" "${files[@]}"
}
case "$level" in
  unit) run_suite unit ;;
  integration) run_suite integration --test-concurrency=1 ;;
  e2e) run_suite e2e --test-concurrency=1 ;;
  e2e-uefi) run_suite e2e-uefi --test-concurrency=1 ;;
  all)
    run_suite unit
    run_suite integration --test-concurrency=1
    run_suite e2e --test-concurrency=1
    run_suite e2e-uefi --test-concurrency=1
    ;;
  *) echo "usage: test/run.sh unit|integration|e2e|e2e-uefi|all" >&2; exit 2 ;;
esac
