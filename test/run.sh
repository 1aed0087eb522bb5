#!/usr/bin/env bash
# Runs test suites with node's built-in runner (TypeScript through tsx).
#   test/run.sh unit|integration|e2e|e2e-uefi|e2e-ab|all
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
  # The BIOS A/B install and the reinstall over ssh: not in `all` (CI's time).
  e2e-ab) run_suite e2e-ab --test-concurrency=1 ;;
  all)
    run_suite unit
    run_suite integration --test-concurrency=1
    # The two QEMU suites side by side: each TCG machine keeps one core busy
    # for most of its install (real Portage), each has its own namespace, and
    # one after the other they took longer than CI should. Output goes to a
    # log per suite, printed whole when both are done.
    # The BIOS file (install, capture, deploy) is the long lane; the UEFI
    # install, the netboot-chain checks and the device matrix share the other.
    lanes="test/e2e-uefi/install-uefi.test.ts test/e2e/device-matrix.test.ts test/e2e/install-bios.test.ts test/e2e/netboot-chain.test.ts"
    have=$(find test/e2e test/e2e-uefi -name '*.test.ts' | sort | tr '\n' ' ')
    if [ "$have" != "$lanes " ]; then
      echo "test/run.sh: the QEMU lanes list $lanes but the folders hold $have; add the new file to a lane" >&2
      exit 1
    fi
    mkdir -p var
    node --import tsx --test --test-reporter=spec --test-concurrency=1 \
      test/e2e/install-bios.test.ts >var/e2e.log 2>&1 &
    bios=$!
    node --import tsx --test --test-reporter=spec --test-concurrency=1 \
      test/e2e-uefi/install-uefi.test.ts test/e2e/netboot-chain.test.ts test/e2e/device-matrix.test.ts >var/e2e-uefi.log 2>&1 &
    uefi=$!
    rc=0
    wait "$bios" || rc=1
    wait "$uefi" || rc=1
    cat var/e2e.log var/e2e-uefi.log
    exit "$rc"
    ;;
  *) echo "usage: test/run.sh unit|integration|e2e|e2e-uefi|e2e-ab|all" >&2; exit 2 ;;
esac
