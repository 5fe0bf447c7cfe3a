// The plain quantizer of the affine block-32 formats (Q4_1, Q5_1) on AVX2: lq_minmax_row
// (basic.h) four blocks at a time with the same operations; each format's file packs the levels.
// Internal linkage: each ISA library keeps its own copy.
#pragma once
#include "quant/simd/block32-avx2.h"

namespace {

// lq_minmax_row (basic.h) four blocks at a time; the last 1-3 blocks run that template itself.
template <class L, class PACK>
void minmax_row(const float * x, typename L::block * y, int64_t nb, PACK pack) {
    const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(static_cast<float>(L::NMAX));
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4, x += 128) {
        __m256 mx[4], mn[4];
        minmax4(x, mx, mn, true);
        const affine4 p(reduce4<false>(mn[0], mn[1], mn[2], mn[3]), reduce4<true>(mx[0], mx[1], mx[2], mx[3]), static_cast<float>(L::NMAX));
        for (int k = 0; k < 4; ++k) {
            const __m256 m = _mm256_set1_ps(p.m[k]), inv = _mm256_set1_ps(p.inv[k]);
            __m256i q[4];
            for (int t = 0; t < 4; ++t) {
                const __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + 32 * k + 8 * t), m), inv);
                q[t] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, zero), top));
            }
            typename L::block & o = y[b + k];
            o.d = p.dh[k];
            o.m = p.mh[k];
            pack(o, q);
        }
    }
    if (b < nb) lq_minmax_row<L>(x, y + b, 32 * (nb - b));
}

}  // namespace
