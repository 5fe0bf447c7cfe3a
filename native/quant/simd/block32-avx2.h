// Helpers shared by the AVX2 block-32 quantizers (q8_0, q4_0, q5_0): loading a block,
// order-free max/min reductions, x * (1/d) → clamp → round-to-nearest-even, F16C scale conversion.
// Internal linkage (anonymous namespace): each ISA file gets its own copy, never merged at link.
#pragma once
#include <immintrin.h>

#include "quant/basic.h"

namespace {

inline bool f16_is_zero(uint16_t h) { return (h & 0x7fff) == 0; }
inline float sat(float d) { return d > LQ_F16_MAX ? LQ_F16_MAX : d < -LQ_F16_MAX ? -LQ_F16_MAX : d; }
inline uint16_t to_f16(float d) { return static_cast<uint16_t>(_cvtss_sh(sat(d), _MM_FROUND_TO_NEAREST_INT)); }

inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}
inline float hmin(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

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

}  // namespace

