// RMSNorm, row by row: out = x / sqrt(mean(x²) + eps) ⊙ weight. The mean of squares is summed in
// double (as ggml does), the scaling and weighting in f32, in that order.
#include <cmath>

#include "cpu/pool.h"
#include "forward/config.h"

void lq_rmsnorm(float * out, const float * x, const float * weight, int64_t n_tok, int64_t n, float eps,
                int n_threads) {
    lq_parallel_for(n_tok, lq_rows_grain(2 * n, 16), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            const float * xt = x + t * n;
            float * ot = out + t * n;
            double ss = 0.0;
            for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(xt[i]) * xt[i];
            const float scale = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
            for (int64_t i = 0; i < n; ++i) ot[i] = (xt[i] * scale) * weight[i];
        }
    });
}
