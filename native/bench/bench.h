// Measurement kernels for the benchmark build only (`npm run build:bench` -> build-bench/, compiled
// with LQ_BENCH; the production addon has none of this): the bandwidth references and the
// in-cache driver timing that benchmarks/quant.ts and benchmarks/forward.ts divide by. No N-API
// here (native/binding/bench.cpp is the glue).
#pragma once
#include <cstdint>

#include "common/status.h"
#include "quant/quantize.h"

// Best single-thread GB/s of the triad a[i] = b[i] + s * c[i] over n floats (12 bytes per element).
double lq_bench_triad(int64_t n, int64_t reps);

// Best GB/s of a streaming read of `bytes` over the pool's `n_threads` threads.
double lq_bench_read(int64_t bytes, int reps, int n_threads);

// Best seconds of one call of lq_quantize_tensor(a) over `reps` calls (a.threads as given).
lq_status lq_bench_quantize(const lq_quantize_args & a, int64_t reps, double * best_seconds);
