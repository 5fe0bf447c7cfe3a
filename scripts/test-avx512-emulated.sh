#!/usr/bin/env bash
# Runs the ISA tests (every registered SIMD variant against the scalar reference, and against ggml)
# with the AVX-512 kernels on emulated intrinsics: build-emu512/Release/layerquant.node, built by
# `node scripts/cmake-build.mjs --emulate-avx512` from the same sources with test/avx512-emu's
# <immintrin.h> (Debian's libsimde-dev plus our scalar definitions). On a machine without AVX-512
# this is the only way those kernels run before CI's AVX-512 runners do; on one with AVX-512 it
# still checks the emulation itself. Slow code (scalar intrinsics), fast enough for the tests.
#   scripts/test-avx512-emulated.sh [--no-build] [vitest paths...]
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
if [[ "${1:-}" == "--no-build" ]]; then build=0; shift; fi
paths=("$@")
if [[ ${#paths[@]} -eq 0 ]]; then
  for p in test/native test/forward/forward.test.ts test/forward/importance.test.ts test/forward/zd-onepass.test.ts \
           test/forward/zd-onepass-novbmi2.test.ts; do [[ -e "$p" ]] && paths+=("$p"); done
fi
if [[ ! -f /usr/include/simde/x86/avx512.h ]]; then
  echo "test-avx512-emulated: SIMDe headers missing (apt-get install libsimde-dev)" >&2
  exit 1
fi
addon="$PWD/build-emu512/Release/layerquant.node"
if [[ $build -eq 1 ]]; then node scripts/cmake-build.mjs --emulate-avx512; fi
[[ -f "$addon" ]] || { echo "test-avx512-emulated: $addon missing" >&2; exit 1; }
active=$(node -e "console.log(require(process.argv[1]).cpuFeatures().active)" "$addon")
[[ "$active" == "avx512" ]] || { echo "test-avx512-emulated: the emulated addon runs $active, not avx512" >&2; exit 1; }
LAYERQUANT_NATIVE="$addon" node node_modules/vitest/vitest.mjs run "${paths[@]}"
