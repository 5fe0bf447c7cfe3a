// Rotary position embedding over the whole batch, in place on q and k. Angles are computed in
// double (pos · theta^(−2i/head_dim)) into a [max_pos × head_dim/2] table once per call, then each
// head's pairs are rotated: NORM (GGUF llama) pairs (2i, 2i+1); NEOX (HF rotate-half) pairs
// (i, i + head_dim/2).
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

}  // namespace

void lq_rope(float * q, float * k, const lq_batch & b, const lq_forward_config & c) {
    const int64_t hd = c.head_dim, half = hd / 2;
    int32_t max_pos = 0;
    for (int32_t p : b.pos) max_pos = std::max(max_pos, p);
    std::vector<float> cs(static_cast<size_t>((max_pos + 1) * half)), sn(cs.size());
    for (int32_t p = 0; p <= max_pos; ++p)
        for (int64_t i = 0; i < half; ++i) {
            const double theta = p * std::pow(static_cast<double>(c.rope_theta), -2.0 * i / static_cast<double>(hd));
            cs[p * half + i] = static_cast<float>(std::cos(theta));
            sn[p * half + i] = static_cast<float>(std::sin(theta));
        }
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
