// The plain quantizer of the affine block-32 formats (Q4_1, Q5_1) on AVX-512: lq_minmax_row
// (basic.h) four blocks at a time (two zmm per block) with the same operations; each format's file
// packs the levels. Internal linkage: each ISA library keeps its own copy.
#pragma once
#include "quant/simd/block32-avx512.h"

namespace {

// PACK(block &, const __m512i q[2]): levels 0-15 and 16-31 of the block as int32.
template <class L, class PACK>
void minmax_row(const float * x, typename L::block * y, int64_t nb, PACK pack) {
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(static_cast<float>(L::NMAX));
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4, x += 128) {
        __m512 v[8];
        for (int k = 0; k < 8; ++k) v[k] = _mm512_loadu_ps(x + 16 * k);
        const __m128 mn = reduce4<false>(_mm512_min_ps(v[0], v[1]), _mm512_min_ps(v[2], v[3]), _mm512_min_ps(v[4], v[5]), _mm512_min_ps(v[6], v[7]));
        const __m128 mx = reduce4<true>(_mm512_max_ps(v[0], v[1]), _mm512_max_ps(v[2], v[3]), _mm512_max_ps(v[4], v[5]), _mm512_max_ps(v[6], v[7]));
        const affine4 p(mn, mx, static_cast<float>(L::NMAX));
        for (int k = 0; k < 4; ++k) {
            const __m512 m = _mm512_set1_ps(p.m[k]), inv = _mm512_set1_ps(p.inv[k]);
            __m512i q[2];
            for (int t = 0; t < 2; ++t)
                q[t] = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_sub_ps(v[2 * k + t], m), inv), zero), top));
            typename L::block & o = y[b + k];
            o.d = p.dh[k];
            o.m = p.mh[k];
            pack(o, q);
        }
    }
    if (b < nb) lq_minmax_row<L>(x, y + b, 32 * (nb - b));
}

}  // namespace
