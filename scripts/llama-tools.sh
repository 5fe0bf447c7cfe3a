#!/usr/bin/env bash
# Builds llama.cpp's command-line tools (llama-quantize, llama-imatrix, llama-perplexity) from the
# source node-llama-cpp bundles, once, into a cache outside the repository, and prints the folder
# that holds the binaries. Benchmarks and reference tests call it; later calls only print the path.
#   LAYERQUANT_LLAMA_CACHE  cache root (default ~/.cache/layerquant)
#   JOBS                    parallel build jobs (default 2)
# AMX stays off: these VMs report AMX in cpuid without enabling it, and a native build dies with
# SIGILL in quantized matmuls (../shared/docs/LLAMA_CPP_REFERENCE.md).
# Beside the tools it builds liblq-log-drain.so (scripts/llama-log-drain.c): preloaded, it lets the
# tools' asynchronous logger print the end of their reports before they exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$root/node_modules/node-llama-cpp/llama/gitRelease.bundle"
[[ -f "$bundle" ]] || { echo "llama-tools: $bundle is missing (npm install first)" >&2; exit 1; }
commit="$(git bundle list-heads "$bundle" | awk 'NR==1 {print substr($1, 1, 12)}')"
cache="${LAYERQUANT_LLAMA_CACHE:-$HOME/.cache/layerquant}/llama.cpp-$commit"
# ggml's x86 ISA flags from this CPU (these VMs differ: some have AVX-512, some only AVX2, and a
# binary built for the first dies with SIGILL on the second); the build folder is named after them.
flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
has() { [[ "$flags" == *" $1 "* ]]; }
onoff() { if has "$1"; then echo ON; else echo OFF; fi; }
isa=(-DGGML_AVX="$(onoff avx)" -DGGML_AVX2="$(onoff avx2)" -DGGML_FMA="$(onoff fma)" -DGGML_F16C="$(onoff f16c)"
  -DGGML_AVX512="$(onoff avx512f)" -DGGML_AVX512_VBMI="$(onoff avx512vbmi)" -DGGML_AVX512_VNNI="$(onoff avx512_vnni)"
  -DGGML_AVX512_BF16="$(onoff avx512_bf16)")
tag="$(printf '%s\n' "${isa[@]}" | awk -F'[_=]' '$NF == "ON" {sub(/^-DGGML_/, "", $0); sub(/=ON$/, "", $0); printf "%s%s", sep, tolower($0); sep = "-"}')"
bin="$cache/build-${tag:-generic}/bin"
tools=(llama-quantize llama-imatrix llama-perplexity)
drain="$bin/liblq-log-drain.so"
build_drain() {
  [[ -f "$drain" && "$drain" -nt "$root/scripts/llama-log-drain.c" ]] && return 0
  cc -O2 -shared -fPIC -o "$drain.tmp.$$" "$root/scripts/llama-log-drain.c" && mv "$drain.tmp.$$" "$drain"
}
have=1
for t in "${tools[@]}"; do [[ -x "$bin/$t" ]] || have=0; done
if [[ $have == 1 ]]; then build_drain; echo "$bin"; exit 0; fi

mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9
if [[ ! -d "$cache/src/.git" ]]; then
  rm -rf "$cache/src"
  git clone -q "$bundle" "$cache/src" >&2
fi
cmake -S "$cache/src" -B "$(dirname "$bin")" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF "${isa[@]}" \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF >&2
cmake --build "$(dirname "$bin")" -j"${JOBS:-2}" --target "${tools[@]}" >&2
for t in "${tools[@]}"; do [[ -x "$bin/$t" ]] || { echo "llama-tools: $t did not build" >&2; exit 1; }; done
build_drain
echo "$bin"
