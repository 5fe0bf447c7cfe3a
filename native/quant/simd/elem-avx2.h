// The AVX2 element vector of the importance-weighted searches (quant/weighted-search.h): e16_avx2
// = two __m256, the same operations as quant/elem.h's e16_s in the same order (max/min with
// maxps/minps operand order, roundps to nearest even, sums by halving), so the bytes match the
// reference. Internal linkage: each ISA library keeps its own copy.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "quant/elem.h"

namespace lq_w {
namespace {

inline __m256i first_n_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

struct e16_avx2 {
    __m256 lo, hi;
    static e16_avx2 load(const float * p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
    static e16_avx2 load_n(const float * p, int n) {
        return {_mm256_maskload_ps(p, first_n_mask(n)), _mm256_maskload_ps(p + 8, first_n_mask(n - 8))};
    }
    static e16_avx2 load_fill(const float * p, int n, float fill) {
        const __m256i m0 = first_n_mask(n), m1 = first_n_mask(n - 8);
        const __m256 f = _mm256_set1_ps(fill);
        return {_mm256_blendv_ps(f, _mm256_maskload_ps(p, m0), _mm256_castsi256_ps(m0)),
                _mm256_blendv_ps(f, _mm256_maskload_ps(p + 8, m1), _mm256_castsi256_ps(m1))};
    }
    static e16_avx2 set1(float a) { return {_mm256_set1_ps(a), _mm256_set1_ps(a)}; }
    void store_levels(uint8_t * out, int bias, int n = 16) const {
        const __m256i b = _mm256_set1_epi32(bias);
        const __m256i a = _mm256_add_epi32(_mm256_cvttps_epi32(lo), b), c = _mm256_add_epi32(_mm256_cvttps_epi32(hi), b);
        // 16 int32 (0..255) -> 16 bytes in order.
        const __m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, c), 0xD8);
        const __m128i bytes = _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
        if (n == 16) {
            _mm_storeu_si128(reinterpret_cast<__m128i *>(out), bytes);
        } else {
            alignas(16) uint8_t t[16];
            _mm_store_si128(reinterpret_cast<__m128i *>(t), bytes);
            std::memcpy(out, t, static_cast<size_t>(n));
        }
    }
};

#define LQ_E16A_BINOP(op, intr) \
    inline e16_avx2 operator op(const e16_avx2 & a, const e16_avx2 & b) { return {intr(a.lo, b.lo), intr(a.hi, b.hi)}; }
LQ_E16A_BINOP(+, _mm256_add_ps)
LQ_E16A_BINOP(-, _mm256_sub_ps)
LQ_E16A_BINOP(*, _mm256_mul_ps)
#undef LQ_E16A_BINOP

inline e16_avx2 vmin(const e16_avx2 & a, const e16_avx2 & b) { return {_mm256_min_ps(a.lo, b.lo), _mm256_min_ps(a.hi, b.hi)}; }
inline e16_avx2 vmax(const e16_avx2 & a, const e16_avx2 & b) { return {_mm256_max_ps(a.lo, b.lo), _mm256_max_ps(a.hi, b.hi)}; }
inline e16_avx2 vabs(const e16_avx2 & a) {
    const __m256 s = _mm256_set1_ps(-0.0f);
    return {_mm256_andnot_ps(s, a.lo), _mm256_andnot_ps(s, a.hi)};
}
inline e16_avx2 round_clamp(const e16_avx2 & a, float lo, float hi) {
    const __m256 l = _mm256_set1_ps(lo), h = _mm256_set1_ps(hi);
    constexpr int mode = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    return {_mm256_round_ps(_mm256_min_ps(_mm256_max_ps(a.lo, l), h), mode), _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(a.hi, l), h), mode)};
}
inline e16_avx2 vlt1(const e16_avx2 & a, const e16_avx2 & b) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return {_mm256_and_ps(_mm256_cmp_ps(a.lo, b.lo, _CMP_LT_OQ), one), _mm256_and_ps(_mm256_cmp_ps(a.hi, b.hi, _CMP_LT_OQ), one)};
}
inline e16_avx2 count_below(const float * thr, int n, const e16_avx2 & a) {
    // Compare masks are -1: subtract them as integers.
    __m256i c0 = _mm256_setzero_si256(), c1 = c0;
    for (int k = 0; k < n; ++k) {
        const __m256 t = _mm256_set1_ps(thr[k]);
        c0 = _mm256_sub_epi32(c0, _mm256_castps_si256(_mm256_cmp_ps(t, a.lo, _CMP_LT_OQ)));
        c1 = _mm256_sub_epi32(c1, _mm256_castps_si256(_mm256_cmp_ps(t, a.hi, _CMP_LT_OQ)));
    }
    return {_mm256_cvtepi32_ps(c0), _mm256_cvtepi32_ps(c1)};
}
inline e16_avx2 copysign_of(const e16_avx2 & mag, const e16_avx2 & s) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    return {_mm256_or_ps(_mm256_andnot_ps(sign, mag.lo), _mm256_and_ps(sign, s.lo)), _mm256_or_ps(_mm256_andnot_ps(sign, mag.hi), _mm256_and_ps(sign, s.hi))};
}
inline void store_nibbles(const e16_avx2 & lo, const e16_avx2 & hi, uint8_t * out) {
    const __m256i a = _mm256_or_si256(_mm256_cvttps_epi32(lo.lo), _mm256_slli_epi32(_mm256_cvttps_epi32(hi.lo), 4));
    const __m256i b = _mm256_or_si256(_mm256_cvttps_epi32(lo.hi), _mm256_slli_epi32(_mm256_cvttps_epi32(hi.hi), 4));
    const __m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out), _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
}
// table[idx]: entries 0-7 and 8-15 by lane permutes, picked by idx > 7.
inline e16_avx2 lookup16(const e16_avx2 & idx, const float * table) {
    const __m256 t0 = _mm256_loadu_ps(table), t1 = _mm256_loadu_ps(table + 8), seven = _mm256_set1_ps(7.0f);
    auto one = [&](__m256 f) {
        const __m256i i = _mm256_cvttps_epi32(f);
        return _mm256_blendv_ps(_mm256_permutevar8x32_ps(t0, i), _mm256_permutevar8x32_ps(t1, i), _mm256_cmp_ps(f, seven, _CMP_GT_OQ));
    };
    return {one(idx.lo), one(idx.hi)};
}

// h[l] = v[l] + v[l + 8], then + 4, + 2, + 1 (elem.h's order).
inline float sum(const e16_avx2 & a) {
    const __m256 h8 = _mm256_add_ps(a.lo, a.hi);
    const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    return _mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
}
inline float hmax(const e16_avx2 & a) {
    const __m256 m8 = _mm256_max_ps(a.lo, a.hi);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}
inline float hmin(const e16_avx2 & a) {
    const __m256 m8 = _mm256_min_ps(a.lo, a.hi);
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

}  // namespace
}  // namespace lq_w
