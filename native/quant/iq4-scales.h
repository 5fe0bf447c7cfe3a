// IQ4_XS's super-block scales from its sub-block scales, shared by the CPU search (iq4-search.h)
// and the CUDA kernel (cuda/quant/iq4_xs.cu) as one host/device function, so both compute the
// same d and l_j: the largest |s_j| is mapped to -32..-29 or to 31, each candidate f16 step d
// gives l_j = clamp(rne(s_j / d), -32, 31), and the d with the lowest scale error
// sum_j sv_j (d l_j - s_j)^2 is kept (sv_j: the sub-block's <w v v>, how its error grows with
// the scale's). Returns d (f16-exact), writes l_j; all zero when every s_j is zero.
#pragma once
#include "common/blocks.h"
#include "common/fp16.h"
#include "common/hd.h"

namespace {

LQ_HD inline int lq_iq4_xs_level(float s, float d) {
    const int a = static_cast<int>((s / d + 12582912.0f) - 12582912.0f);  // round to nearest even
    return a < -32 ? -32 : (a > 31 ? 31 : a);
}

LQ_HD inline float lq_iq4_xs_scales(const float * s, const float * sv, int * ls) {
    float anchor = 0.0f, amax = 0.0f;
    for (int j = 0; j < 8; ++j) {
        ls[j] = 0;
        const float a = s[j] < 0.0f ? -s[j] : s[j];
        if (a > amax) {
            amax = a;
            anchor = s[j];
        }
    }
    if (!(amax > 0.0f)) return 0.0f;
    float d = 0.0f;
    double best = 1e300;
    const float cand[5] = {-32.0f, -31.0f, -30.0f, -29.0f, 31.0f};
    for (int c = 0; c < 5; ++c) {
        const float dd = lq_f16_round(lq_f16_clamp(anchor / cand[c]));
        if (dd == 0.0f) continue;
        double e = 0.0;
        int l[8];
        for (int j = 0; j < 8; ++j) {
            l[j] = lq_iq4_xs_level(s[j], dd);
            const double r = static_cast<double>(dd) * l[j] - s[j];
            e += static_cast<double>(sv[j]) * r * r;
        }
        if (e < best) {
            best = e;
            d = dd;
            for (int j = 0; j < 8; ++j) ls[j] = l[j];
        }
    }
    if (d == 0.0f) {
        // Every candidate is below the smallest f16 step: use that step.
        d = anchor > 0.0f ? 5.9604645e-8f : -5.9604645e-8f;
        for (int j = 0; j < 8; ++j) ls[j] = lq_iq4_xs_level(s[j], d);
    }
    return d;
}

// Whether the sub-block's refit scale dl2 (levels with sums sxv2, svv2) beats dl (sxv, svv): their
// errors up to the common sum w x^2, -2 dl <wxv> + dl^2 <wvv>.
LQ_HD inline bool lq_iq4_xs_refit_better(float dl, float sxv, float svv, float dl2, float sxv2, float svv2) {
    const double e1 = -2.0 * dl * sxv + static_cast<double>(dl) * dl * svv;
    const double e2 = -2.0 * dl2 * sxv2 + static_cast<double>(dl2) * dl2 * svv2;
    return e2 < e1;
}

// The f16 super-scale and the 6-bit scales ls_j + 32 into the block (layout: common/blocks.h).
LQ_HD inline void lq_iq4_xs_pack_scales(block_iq4_xs * o, float d, const int * ls) {
    o->d = lq_f32_to_f16_sat(d);
    uint16_t h = 0;
    for (int j = 0; j < 4; ++j) o->scales_l[j] = 0;
    for (int j = 0; j < 8; ++j) {
        const int l = ls[j] + 32;
        o->scales_l[j / 2] |= static_cast<uint8_t>((l & 0xf) << (4 * (j % 2)));
        h |= static_cast<uint16_t>((l >> 4) << (2 * j));
    }
    o->scales_h = h;
}

}  // namespace
