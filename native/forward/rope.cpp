// Rotary position embedding over the whole batch, in place on q and k. The cos/sin of every
// (position, pair) are computed once per call into a [max_pos × head_dim/2] table, in double, as
// ggml's rope_ext defines them: angle = pos · theta^(−2i/head_dim) / freq_factor[i] (Llama 3's
// rope_freqs), interpolated by freq_scale (linear and YaRN) and, for YaRN (ext_factor ≠ 0),
// blended back towards the extrapolated angle on the fast-rotating dims with ggml's ramp and
// scaled in magnitude. Then each head's pairs are rotated: NORM (GGUF llama) pairs (2i, 2i+1);
// NEOX (HF rotate-half, and GGUF qwen/gemma/phi) pairs (i, i + head_dim/2).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/pool.h"
#include "forward/config.h"

namespace {

inline void rotate(float * h, int64_t hd, const float * cs, const float * sn, bool neox) {
    const int64_t half = hd / 2;
    for (int64_t i = 0; i < half; ++i) {
        const int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
        const float x0 = h[i0], x1 = h[i1];
        h[i0] = x0 * cs[i] - x1 * sn[i];
        h[i1] = x0 * sn[i] + x1 * cs[i];
    }
}

// ggml_rope_yarn_corr_dim: the dimension whose wavelength makes n_rot turns over n_ctx_orig.
double corr_dim(double n_dims, double n_ctx_orig, double n_rot, double base) {
    return n_dims * std::log(n_ctx_orig / (n_rot * 2 * M_PI)) / (2 * std::log(base));
}

}  // namespace

void lq_rope_cache(const lq_forward_config & c, const float * freq_factors, int32_t pos, float * cs, float * sn) {
    const int64_t hd = c.head_dim, half = hd / 2;
    const double base = c.rope_theta, scale = c.rope_freq_scale, ext = c.rope_ext_factor;
    double lo = 0, hi = 0, mscale = c.rope_mscale;
    if (ext != 0) {
        const double n_ctx = static_cast<double>(c.rope_n_ctx_orig);
        lo = std::max(0.0, std::floor(corr_dim(static_cast<double>(hd), n_ctx, c.rope_beta_fast, base)));
        hi = std::min(static_cast<double>(hd - 1), std::ceil(corr_dim(static_cast<double>(hd), n_ctx, c.rope_beta_slow, base)));
        mscale *= 1.0 + 0.1 * std::log(1.0 / scale);
    }
    for (int64_t i = 0; i < half; ++i) {
        const double ff = freq_factors ? freq_factors[i] : 1.0;
        const double extrap = pos * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(hd)) / ff;
        double theta = scale * extrap;
        if (ext != 0) {
            const double y = (static_cast<double>(i) - lo) / std::max(0.001, hi - lo);
            const double mix = (1 - std::min(1.0, std::max(0.0, y))) * ext;
            theta = theta * (1 - mix) + extrap * mix;
        }
        cs[i] = static_cast<float>(std::cos(theta) * mscale);
        sn[i] = static_cast<float>(std::sin(theta) * mscale);
    }
}

void lq_rope(float * q, float * k, const lq_batch & b, const lq_forward_config & c, const float * freq_factors) {
    const int64_t hd = c.head_dim, half = hd / 2;
    int32_t max_pos = 0;
    for (int32_t p : b.pos) max_pos = std::max(max_pos, p);
    std::vector<float> cs(static_cast<size_t>((max_pos + 1) * half)), sn(cs.size());
    for (int32_t p = 0; p <= max_pos; ++p) lq_rope_cache(c, freq_factors, p, cs.data() + p * half, sn.data() + p * half);
    const bool neox = c.rope_mode == LQ_ROPE_NEOX;
    lq_parallel_for(b.n_tok, lq_rows_grain((c.n_head + c.n_head_kv) * hd * 4, 16), c.n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            const float * ct = cs.data() + b.pos[t] * half;
            const float * st = sn.data() + b.pos[t] * half;
            for (int64_t h = 0; h < c.n_head; ++h) rotate(q + (t * c.n_head + h) * hd, hd, ct, st, neox);
            for (int64_t h = 0; h < c.n_head_kv; ++h) rotate(k + (t * c.n_head_kv + h) * hd, hd, ct, st, neox);
        }
    });
}
