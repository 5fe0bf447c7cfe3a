// The SwiGLU gate of the MLP: gate = silu(gate) ⊙ up, silu(g) = g / (1 + e^(−g)). The gate, up and
// down projections themselves are lq_matmul calls in lq_forward_block.
#include <cmath>

#include "cpu/pool.h"
#include "forward/config.h"

void lq_swiglu(float * gate, const float * up, int64_t n_tok, int64_t n, int n_threads) {
    lq_parallel_for(n_tok, lq_rows_grain(2 * n, 8), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin * n; i < end * n; ++i) {
            const float g = gate[i];
            gate[i] = (g / (1.0f + std::exp(-g))) * up[i];
        }
    });
}
