// The imatrix statistic (llama.cpp's llama-imatrix): Σ over tokens of x_t[i]² per column i of a
// matmul input, accumulated in double. Columns are split over the pool in panels of 64 and each
// panel walks the tokens in order (one 256-byte stretch per row), so sums are the same for any
// thread count and no partial buffers need merging.
#include "cpu/pool.h"
#include "forward/config.h"

void lq_sumsq_columns(double * acc, const float * x, int64_t n_tok, int64_t n, int n_threads) {
    if (!acc || n_tok <= 0 || n <= 0) return;
    constexpr int64_t panel = 64;
    const int64_t n_panels = (n + panel - 1) / panel;
    const int64_t per_task = n_tok * panel >= (int64_t(1) << 16) ? 1 : ((int64_t(1) << 16) / (n_tok * panel) + 1);
    lq_parallel_for(n_panels, per_task, n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
            const int64_t c0 = p * panel, c1 = c0 + panel < n ? c0 + panel : n;
            double s[panel] = {};
            for (int64_t t = 0; t < n_tok; ++t) {
                const float * row = x + t * n;
                for (int64_t i = c0; i < c1; ++i) {
                    const double v = row[i];
                    s[i - c0] += v * v;
                }
            }
            for (int64_t i = c0; i < c1; ++i) acc[i] += s[i - c0];
        }
    });
}
