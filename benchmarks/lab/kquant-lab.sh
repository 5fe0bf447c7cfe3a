#!/bin/sh
# Builds and runs the k-quant lab (kquant-lab.cpp) from the repository root: same flags as binding.gyp.
set -e
OUT=${KQ_OUT:-/tmp/kquant-lab}
mkdir -p "$OUT"
F="-O3 -std=c++17 -ffp-contract=off -fno-fast-math -Inative"
for f in q2_k q3_k q4_k q5_k q6_k; do
  g++ $F -c native/quant/$f.cpp -o "$OUT/$f.o" &
  g++ $F -mavx2 -mfma -mf16c -mbmi2 -c native/quant/simd/$f-avx2.cpp -o "$OUT/$f-avx2.o" &
  g++ $F -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c -mbmi2 -c native/quant/simd/$f-avx512.cpp -o "$OUT/$f-avx512.o"
  wait
done
g++ $F benchmarks/lab/kquant-lab.cpp "$OUT"/*.o -ldl -o "$OUT/kquant-lab"
"$OUT/kquant-lab" "$@"
