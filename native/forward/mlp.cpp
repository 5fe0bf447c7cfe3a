// The gated MLP's elementwise steps: out = act(gate) ⊙ up with SiLU (g / (1 + e^(−g))) or the
// tanh-approximated GELU (0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))), Gemma's), bias adds, and
// norm weights widened to f32. The projections themselves are lq_matmul calls in block.cpp/moe.cpp.
#include <cmath>

#include "cpu/pool.h"
#include "forward/config.h"

namespace {

inline float act_fn(float g, int act) {
    if (act == LQ_ACT_GELU) {
        const float k = 0.7978845608028654f;  // √(2/π)
        return 0.5f * g * (1.0f + std::tanh(k * (g + 0.044715f * g * g * g)));
    }
    return g / (1.0f + std::exp(-g));
}

}  // namespace

void lq_glu(float * out, const float * gate, const float * up, int64_t ld, int64_t n_tok, int64_t n, int act,
            int n_threads) {
    lq_parallel_for(n_tok, lq_rows_grain(2 * n, 8), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
            for (int64_t i = 0; i < n; ++i) out[t * n + i] = act_fn(gate[t * ld + i], act) * up[t * ld + i];
    });
}

void lq_add_bias(float * y, const float * bias, int64_t n_tok, int64_t n, int n_threads) {
    lq_parallel_for(n_tok, lq_rows_grain(n, 16), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
            for (int64_t i = 0; i < n; ++i) y[t * n + i] += bias[i];
    });
}

void lq_norm_weight(const lq_weight & w, bool add_one, std::vector<float> & dst) {
    dst.resize(static_cast<size_t>(w.n_in));
    lq_weight_rows_f32(w, 0, 1, dst.data());
    if (add_one)
        for (float & v : dst) v += 1.0f;
}
