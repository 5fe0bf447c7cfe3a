// IQ4_NL and IQ4_XS row quantizers, written once over the element vector E (quant/elem.h,
// simd/elem-*.h) so the reference and the SIMD variants write identical bytes. Both use the
// codebook search of weighted-search.h (nl_block) per block of 32 over IQ4_NL's 16 levels
// (common/codebooks/iq4_nl.h, derived from ggml). Without importance weights the objective is the
// plain squared error (uniform weights), where ggml weights by x^2.
//  - IQ4_NL: the block's scale, stored as f16.
//  - IQ4_XS: each sub-block's scale s_j from the search, then the f16 super-scale d and the 6-bit
//    ls_j (weight = d * (ls_j - 32) * v) by lq_iq4_xs_scales (iq4-scales.h, shared with CUDA);
//    the levels are re-assigned under each d * l_j and l_j refit once from them.
#pragma once
#include "common/codebooks/iq4_nl.h"
#include "quant/iq4-scales.h"
#include "quant/weighted-search.h"

namespace lq_w {
namespace {

constexpr codebook16 kIq4Codebook = make_codebook16(lq_iq4_nl_values);
// Uniform weights for the rows quantized without importance.
constexpr float kOnes32[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
constexpr int kIq4Neg = 9, kIq4Pos = 5;

// Level indices of a block of 32 as nibbles: qs[j] = idx[j] | idx[j + 16] << 4.
template <class E>
inline void pack_nibbles(const E * idx, uint8_t * qs) {
    store_nibbles(idx[0], idx[1], qs);
}

template <class E>
inline void iq4_nl_row(const float * x, void * vy, int64_t n, const float * w) {
    block_iq4_nl * y = static_cast<block_iq4_nl *>(vy);
    for (int64_t b = 0; b < n / 32; ++b) {
        const block32<E> blk(x + 32 * b, w ? w + 32 * b : kOnes32);
        E idx[2];
        const nl_result r = nl_block<kIq4Neg, kIq4Pos, 1>(blk, kIq4Codebook, idx);
        uint16_t dh = lq_f32_to_f16_sat(r.d);
        if ((dh & 0x7fff) == 0) dh = 0;
        y[b].d = dh;
        pack_nibbles(idx, y[b].qs);
    }
}

template <class E>
inline void iq4_xs_row(const float * x, void * vy, int64_t n, const float * w) {
    block_iq4_xs * y = static_cast<block_iq4_xs *>(vy);
    const codebook16 & cb = kIq4Codebook;
    for (int64_t sb = 0; sb < n / 256; ++sb) {
        const float * xs = x + 256 * sb;
        const float * ws = w ? w + 256 * sb : nullptr;
        float s[8], sv[8];
        E idx[8][2];
        for (int j = 0; j < 8; ++j) {
            const block32<E> blk(xs + 32 * j, ws ? ws + 32 * j : kOnes32);
            const nl_result r = nl_block<kIq4Neg, kIq4Pos, 0>(blk, cb, idx[j]);
            s[j] = r.d;
            sv[j] = r.svv;
        }
        int ls[8];
        const float d = lq_iq4_xs_scales(s, sv, ls);
        // Levels under each sub-block's stored scale d * l_j, then l_j refit once from them.
        for (int j = 0; j < 8; ++j) {
            const block32<E> blk(xs + 32 * j, ws ? ws + 32 * j : kOnes32);
            auto assign = [&](float dl, E * ii, float & sxv, float & svv) {
                const E vid = E::set1(1.0f / dl);
                ii[0] = nearest_index(blk.x[0] * vid, cb);
                ii[1] = nearest_index(blk.x[1] * vid, cb);
                const E v0 = lookup16(ii[0], cb.v), v1 = lookup16(ii[1], cb.v);
                sxv = sum(blk.wx[0] * v0 + blk.wx[1] * v1);
                svv = sum((blk.w[0] * v0) * v0 + (blk.w[1] * v1) * v1);
            };
            const float dl = d * static_cast<float>(ls[j]);
            if (dl == 0.0f) {
                idx[j][0] = idx[j][1] = E::set1(0.0f);
                continue;
            }
            float sxv, svv;
            assign(dl, idx[j], sxv, svv);
            if (!(svv > 0.0f)) continue;
            const int a = lq_iq4_xs_level(sxv / svv, d);
            const float dl2 = d * static_cast<float>(a);
            if (a == ls[j] || dl2 == 0.0f) continue;
            E i2[2];
            float sxv2, svv2;
            assign(dl2, i2, sxv2, svv2);
            if (lq_iq4_xs_refit_better(dl, sxv, svv, dl2, sxv2, svv2)) {
                ls[j] = a;
                idx[j][0] = i2[0];
                idx[j][1] = i2[1];
            }
        }
        lq_iq4_xs_pack_scales(y + sb, d, ls);
        for (int j = 0; j < 8; ++j) pack_nibbles(idx[j], y[sb].qs + 16 * j);
    }
}

}  // namespace
}  // namespace lq_w
