// The codebook search of quant/weighted-search.h (nl_block) for one warp holding a block of 32
// (lane j = weight j), with uniform weights (the GPU path takes no importance): the same IEEE
// operations, the sums in the CPU's order (lq_warp_sum_e16), the decisions in every lane, so a
// kernel built on it writes the CPU reference's bytes (iq4_nl.cu, iq4_xs.cu).
#pragma once
#include "common/codebooks/iq4_nl.h"
#include "cuda/quant/quant-common.cuh"

// Index (0..15) of the nearest IQ4_NL level to a: the midpoints strictly below it.
__device__ __forceinline__ int lq_iq4_index(float a) {
    int c = 0;
    for (int k = 0; k < 15; ++k) c += __fmul_rn(0.5f, __fadd_rn(static_cast<float>(lq_iq4_nl_values[k]), static_cast<float>(lq_iq4_nl_values[k + 1]))) < a;
    return c;
}

struct lq_nl_warp {
    float d, sxv, svv;
    int idx;  // this lane's level index
};

// nl_block<KNEG, KPOS, NREF> with w = 1.
template <int KNEG, int KPOS, int NREF>
__device__ inline lq_nl_warp lq_nl_block_warp(float x) {
    const float amax = lq_warp_max(fabsf(x));
    if (!(amax > 1e-30f)) return {0.0f, 0.0f, 0.0f, 0};
    const float vmx = lq_warp_max(x), vmn = lq_warp_min(x);
    const float m = -vmn >= vmx ? vmn : vmx;
    float best_num = -1.0f, best_den = 1.0f, best_sxv = 0.0f, best_svv = 0.0f;
    int best_idx = 0;
    auto assign = [&](float id, int & i, float & sxv, float & svv) {
        i = lq_iq4_index(__fmul_rn(x, id));
        const float v = static_cast<float>(lq_iq4_nl_values[i]);
        sxv = lq_warp_sum_e16(__fmul_rn(x, v));  // w x = x for w = 1
        svv = lq_warp_sum_e16(__fmul_rn(v, v));
    };
    auto consider = [&](float target) {
        int i;
        float sxv, svv;
        assign(__fdiv_rn(target, m), i, sxv, svv);
        if (!(svv > 0.0f)) return;
        const float num = __fmul_rn(sxv, sxv);
        if (best_num < 0.0f || __dmul_rn(num, best_den) > __dmul_rn(best_num, svv)) {
            best_num = num;
            best_den = svv;
            best_sxv = sxv;
            best_svv = svv;
            best_idx = i;
        }
    };
    const float v0 = static_cast<float>(lq_iq4_nl_values[0]), v15 = static_cast<float>(lq_iq4_nl_values[15]);
    for (int t = 0; t < KNEG; ++t) consider(__fadd_rn(v0, static_cast<float>(t - KNEG / 2)));
    for (int t = 0; t < KPOS; ++t) consider(__fadd_rn(v15, __fmul_rn(4.0f, static_cast<float>(t - KPOS / 2))));
    float d = __fdiv_rn(best_sxv, best_svv);
    if (NREF > 0) {
        const float swxx = lq_warp_sum_e16(__fmul_rn(x, x));
        auto err = [&](float dh, float sxv, float svv) {
            return static_cast<double>(swxx) - 2.0 * dh * sxv + static_cast<double>(dh) * dh * svv;
        };
        for (int r = 0; r < NREF; ++r) {
            const float dh = lq_f16_round(lq_f16_clamp(d));
            if (dh == 0.0f) break;
            int i;
            float sxv, svv;
            assign(__fdiv_rn(1.0f, dh), i, sxv, svv);
            if (!(svv > 0.0f)) break;
            const float d2 = __fdiv_rn(sxv, svv);
            if (!(err(lq_f16_round(lq_f16_clamp(d2)), sxv, svv) < err(dh, best_sxv, best_svv))) break;
            d = d2;
            best_sxv = sxv;
            best_svv = svv;
            best_idx = i;
        }
    }
    return {d, best_sxv, best_svv, best_idx};
}

// qs[j] = idx[j] | idx[j + 16] << 4 from a warp's level indices.
__device__ __forceinline__ void lq_pack_nibbles_warp(int idx, int lane, uint8_t * qs) {
    const int hi = __shfl_down_sync(0xffffffffu, idx, 16);
    if (lane < 16) qs[lane] = static_cast<uint8_t>(idx | (hi << 4));
}
