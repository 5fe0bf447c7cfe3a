#!/usr/bin/env bash
# Runs the native-facing tests (test/native, test/fuzz) against an ASan+UBSan build of the addon
# (build-asan/Release/layerquant.node, built by `node scripts/cmake-build.mjs --sanitize`; the
# normal build/ is untouched). Node itself is not instrumented, so libasan is preloaded. Leak
# detection is off (V8 keeps memory until exit by design). Any sanitizer report fails the run:
# reports go to log files that are checked at the end, so a report in a forked test worker cannot
# be lost in the test runner's output.
#   scripts/test-sanitized.sh [--no-build] [vitest paths...]
#   (default paths: test/native test/fuzz and the ZD sweep's SIMD tests)
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
if [[ "${1:-}" == "--no-build" ]]; then build=0; shift; fi
paths=("$@")
if [[ ${#paths[@]} -eq 0 ]]; then
  paths=()
  for p in test/native test/fuzz test/forward/zd-onepass.test.ts test/forward/zd-onepass-novbmi2.test.ts; do [[ -e "$p" ]] && paths+=("$p"); done
fi

addon="$PWD/build-asan/Release/layerquant.node"
if [[ $build -eq 1 ]]; then node scripts/cmake-build.mjs --sanitize; fi
[[ -f "$addon" ]] || { echo "test-sanitized: $addon missing (run node scripts/cmake-build.mjs --sanitize)" >&2; exit 1; }

libasan="$(gcc -print-file-name=libasan.so)"
[[ -f "$libasan" ]] || { echo "test-sanitized: libasan not found (gcc -print-file-name=libasan.so gave $libasan)" >&2; exit 1; }

logs="$(mktemp -d "${TMPDIR:-/tmp}/lq-sanitize.XXXXXX")"
trap 'rm -rf "$logs"' EXIT
export LAYERQUANT_NATIVE="$addon"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_odr_violation=0:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"

status=0
# Only the test processes get libasan: npx/npm themselves run without it.
LD_PRELOAD="$libasan" node node_modules/vitest/vitest.mjs run "${paths[@]}" 2>&1 | tee "$logs/output.txt" || status=$?
# Belt and braces: a report printed to the terminal instead of a log file also fails the run.
if grep -qE "runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer" "$logs/output.txt"; then
  echo "test-sanitized: a sanitizer report appeared in the test output (above)" >&2
  exit 1
fi
rm -f "$logs/output.txt"

reports=("$logs"/*)
if [[ -e "${reports[0]}" ]]; then
  echo "test-sanitized: sanitizer reports:" >&2
  for r in "${reports[@]}"; do echo "==== $r" >&2; cat "$r" >&2; done
  exit 1
fi
if [[ $status -ne 0 ]]; then echo "test-sanitized: tests failed ($status)" >&2; exit "$status"; fi
echo "test-sanitized: no sanitizer reports"
