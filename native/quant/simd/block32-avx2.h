// Helpers shared by the AVX2 block-32 quantizers (q8_0, q4_0, q5_0): loading a block,
// order-free max/min reductions, x * (1/d) → clamp → round-to-nearest-even, F16C scale conversion.
// Internal linkage (anonymous namespace): each ISA file gets its own copy, never merged at link.
#pragma once
#include <immintrin.h>

#include "quant/basic.h"
#include "quant/simd/shared.h"

namespace {


struct block32 {
    __m256 v[4];
    explicit block32(const float * x) {
        for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(x + 8 * k);
    }
    float signed_absmax() const {
        const float vmax = hmax(_mm256_max_ps(_mm256_max_ps(v[0], v[1]), _mm256_max_ps(v[2], v[3])));
        const float vmin = hmin(_mm256_min_ps(_mm256_min_ps(v[0], v[1]), _mm256_min_ps(v[2], v[3])));
        return -vmin >= vmax ? vmin : vmax;
    }
    float absmax() const {
        const __m256 sign = _mm256_set1_ps(-0.0f);
        return hmax(_mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                                  _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3]))));
    }
    // q[k] = round_nearest_even(clamp(v[k] * id, lo, hi)) as int32 lanes.
    void quantize(float idf, float lof, float hif, __m256i * q) const {
        const __m256 id = _mm256_set1_ps(idf), lo = _mm256_set1_ps(lof), hi = _mm256_set1_ps(hif);
        for (int k = 0; k < 4; ++k) {
            __m256 t = _mm256_mul_ps(v[k], id);
            t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
            q[k] = _mm256_cvtps_epi32(t);
        }
    }
};

inline __m128i narrow16(__m256i a, __m256i b) {
    const __m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);  // 16 × u16 in order
    return _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

// Four blocks at a time (see block32-avx512.h): transposed reductions and the per-block scale
// steps on a __m128 of four blocks, same IEEE operations as the scalar code.
template <bool MAX>
inline __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    auto op = [](__m256 a, __m256 b) { return MAX ? _mm256_max_ps(a, b) : _mm256_min_ps(a, b); };
    const __m256 t01 = op(_mm256_permute2f128_ps(a0, a1, 0x20), _mm256_permute2f128_ps(a0, a1, 0x31));
    const __m256 t23 = op(_mm256_permute2f128_ps(a2, a3, 0x20), _mm256_permute2f128_ps(a2, a3, 0x31));
    const __m256 h = op(_mm256_shuffle_ps(t01, t23, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(t01, t23, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m256 h2 = op(_mm256_shuffle_ps(h, h, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(h, h, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm_unpacklo_ps(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1));
}


// Per-block max / min vectors of four consecutive blocks at x.
inline void minmax4(const float * x, __m256 * mx, __m256 * mn, bool want_min) {
    for (int k = 0; k < 4; ++k) {
        const block32 b(x + 32 * k);
        mx[k] = _mm256_max_ps(_mm256_max_ps(b.v[0], b.v[1]), _mm256_max_ps(b.v[2], b.v[3]));
        if (want_min) mn[k] = _mm256_min_ps(_mm256_min_ps(b.v[0], b.v[1]), _mm256_min_ps(b.v[2], b.v[3]));
    }
}

inline __m128 signed_absmax4(const float * x) {
    __m256 mx[4], mn[4];
    minmax4(x, mx, mn, true);
    const __m128 vmax = reduce4<true>(mx[0], mx[1], mx[2], mx[3]);
    const __m128 vmin = reduce4<false>(mn[0], mn[1], mn[2], mn[3]);
    const __m128 neg = _mm_xor_ps(vmin, _mm_set1_ps(-0.0f));
    return _mm_blendv_ps(vmax, vmin, _mm_cmp_ps(neg, vmax, _CMP_GE_OQ));
}

inline __m128 absmax4(const float * x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a[4];
    for (int k = 0; k < 4; ++k) {
        const block32 b(x + 32 * k);
        a[k] = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, b.v[0]), _mm256_andnot_ps(sign, b.v[1])),
                             _mm256_max_ps(_mm256_andnot_ps(sign, b.v[2]), _mm256_andnot_ps(sign, b.v[3])));
    }
    return reduce4<true>(a[0], a[1], a[2], a[3]);
}

}  // namespace

