// Helpers shared by the SIMD quantizers (block-32 and intN, AVX2 and AVX-512 files, all built with
// -mavx2 -mf16c): F16C scale conversions (bit-identical to common/fp16.h's round-to-nearest-even
// ones, and faster), the f16 clamp on vectors, the four-block scale step, and order-free
// horizontal min/max. Internal linkage: each ISA file keeps its own copy.
#pragma once
#include <immintrin.h>

#include "quant/basic.h"

namespace {

// Horizontal max/min of 8 lanes (exact in any order).
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

// Four e16 sums at once (quant/elem.h's order, applied to 8-lane halves already added:
// h8_k[l] = v_k[l] + v_k[l + 8]): result k = ((h8_k[0] + h8_k[4]) + (h8_k[2] + h8_k[6])) +
// ((h8_k[1] + h8_k[5]) + (h8_k[3] + h8_k[7])).
inline __m128 sums4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 a = _mm256_add_ps(_mm256_permute2f128_ps(a0, a1, 0x20), _mm256_permute2f128_ps(a0, a1, 0x31));  // u of blocks 0 | 1
    const __m256 b = _mm256_add_ps(_mm256_permute2f128_ps(a2, a3, 0x20), _mm256_permute2f128_ps(a2, a3, 0x31));  // u of blocks 2 | 3
    const __m256 c = _mm256_add_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 d = _mm256_add_ps(_mm256_shuffle_ps(c, c, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(c, c, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm_unpacklo_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
}

inline bool f16_is_zero(uint16_t h) { return (h & 0x7fff) == 0; }
// lq_f16_clamp lane by lane (inputs are never NaN, so min/max order does not matter).
inline __m128 clamp_f16(__m128 d) { return _mm_max_ps(_mm_min_ps(d, _mm_set1_ps(LQ_F16_MAX)), _mm_set1_ps(-LQ_F16_MAX)); }
inline __m256 clamp_f16(__m256 d) { return _mm256_max_ps(_mm256_min_ps(d, _mm256_set1_ps(LQ_F16_MAX)), _mm256_set1_ps(-LQ_F16_MAX)); }
#if defined(__AVX512F__)
inline __m512 clamp_f16(__m512 d) { return _mm512_max_ps(_mm512_min_ps(d, _mm512_set1_ps(LQ_F16_MAX)), _mm512_set1_ps(-LQ_F16_MAX)); }
#endif

inline uint16_t to_f16(float d) { return static_cast<uint16_t>(_cvtss_sh(lq_f16_clamp(d), _MM_FROUND_TO_NEAREST_INT)); }


// Per-block scale steps for four blocks (the block-32 quantizers do four at a time): d -> clamped
// d, its fp16 bits (dh[0..3]), 1/d (as a vector and per block), and which scales round to zero.
struct scales4 {
    alignas(16) uint16_t dh[8];
    alignas(16) float ids[4];
    __m128 id;
    int zero_mask;  // bit k: block k's scale rounds to fp16 zero
    explicit scales4(__m128 d) {
        const __m128 ds = clamp_f16(d);
        const __m128i h = _mm_cvtps_ph(ds, _MM_FROUND_TO_NEAREST_INT);
        _mm_store_si128(reinterpret_cast<__m128i *>(dh), h);
        const __m128i z = _mm_cmpeq_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7fff)), _mm_setzero_si128());
        const int m = _mm_movemask_epi8(z) & 0xff;
        zero_mask = (m & 1) | ((m >> 1) & 2) | ((m >> 2) & 4) | ((m >> 3) & 8);
        id = _mm_div_ps(_mm_set1_ps(1.0f), ds);
        _mm_store_ps(ids, id);
    }
    bool zero(int k) const { return (zero_mask >> k) & 1; }
};

// lq_intn_params_minmax (basic.h) for four blocks at once from their min and max: the same IEEE
// operations (F16C conversions round the same way).
struct affine4 {
    alignas(16) uint16_t dh[8], mh[8];  // f16 step and offset per block
    alignas(16) float m[4], inv[4];     // the offset as f32 and 1 / step (0 for a zero step)
    affine4(__m128 mn, __m128 mx, float nmax) {
        const __m128 z = _mm_setzero_ps();
        mn = _mm_add_ps(mn, z);  // canonical +0.0
        mx = _mm_add_ps(mx, z);
        const __m128i zh = _mm_cvtps_ph(clamp_f16(mn), _MM_FROUND_TO_NEAREST_INT);
        const __m128i sh = _mm_cvtps_ph(clamp_f16(_mm_div_ps(_mm_sub_ps(mx, mn), _mm_set1_ps(nmax))), _MM_FROUND_TO_NEAREST_INT);
        _mm_store_si128(reinterpret_cast<__m128i *>(dh), sh);
        _mm_store_si128(reinterpret_cast<__m128i *>(mh), zh);
        _mm_store_ps(m, _mm_cvtph_ps(zh));
        const __m128 s = _mm_cvtph_ps(sh);
        _mm_store_ps(inv, _mm_and_ps(_mm_div_ps(_mm_set1_ps(1.0f), s), _mm_cmp_ps(s, z, _CMP_GT_OQ)));
    }
};

}  // namespace
