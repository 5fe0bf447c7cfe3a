// The AVX-512 element vector of the importance-weighted searches (quant/weighted-search.h):
// e16_avx512 = one __m512, the same operations as quant/elem.h's e16_s in the same order (max/min
// with maxps/minps operand order, roundscale to nearest even, sums by halving), so the bytes match
// the reference. Internal linkage: each ISA library keeps its own copy.
#pragma once
// GCC 12 reports a false "may be used uninitialized" inside its own _mm512 min/max helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstdint>

#include "quant/elem.h"

namespace lq_w {
namespace {

struct e16_avx512 {
    __m512 v;
    static e16_avx512 load(const float * p) { return {_mm512_loadu_ps(p)}; }
    static e16_avx512 load_n(const float * p, int n) {
        return {_mm512_maskz_loadu_ps(static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1u), p)};
    }
    static e16_avx512 load_fill(const float * p, int n, float fill) {
        return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1u), p)};
    }
    static e16_avx512 set1(float a) { return {_mm512_set1_ps(a)}; }
    void store_levels(uint8_t * out, int bias, int n = 16) const {
        const __m128i bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvttps_epi32(v), _mm512_set1_epi32(bias)));
        _mm_mask_storeu_epi8(out, static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1u), bytes);
    }
};

inline e16_avx512 operator+(const e16_avx512 & a, const e16_avx512 & b) { return {_mm512_add_ps(a.v, b.v)}; }
inline e16_avx512 operator-(const e16_avx512 & a, const e16_avx512 & b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline e16_avx512 operator*(const e16_avx512 & a, const e16_avx512 & b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline e16_avx512 vmin(const e16_avx512 & a, const e16_avx512 & b) { return {_mm512_min_ps(a.v, b.v)}; }
inline e16_avx512 vmax(const e16_avx512 & a, const e16_avx512 & b) { return {_mm512_max_ps(a.v, b.v)}; }
inline e16_avx512 vabs(const e16_avx512 & a) {
    return {_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(0x7fffffff)))};
}
inline e16_avx512 round_clamp(const e16_avx512 & a, float lo, float hi) {
    const __m512 t = _mm512_min_ps(_mm512_max_ps(a.v, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
    return {_mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
}
inline e16_avx512 vlt1(const e16_avx512 & a, const e16_avx512 & b) {
    return {_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ), _mm512_set1_ps(1.0f))};
}
inline e16_avx512 count_below(const float * thr, int n, const e16_avx512 & a) {
    __m512i c = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi32(1);
    for (int k = 0; k < n; ++k) c = _mm512_mask_add_epi32(c, _mm512_cmp_ps_mask(_mm512_set1_ps(thr[k]), a.v, _CMP_LT_OQ), c, one);
    return {_mm512_cvtepi32_ps(c)};
}
inline e16_avx512 copysign_of(const e16_avx512 & mag, const e16_avx512 & s) {
    // (mag & 0x7fffffff) | (s & 0x80000000): bit-select with the sign mask.
    return {_mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(mag.v), _mm512_castps_si512(s.v), _mm512_set1_epi32(0x7fffffff), 0xE4))};
}
inline void store_nibbles(const e16_avx512 & lo, const e16_avx512 & hi, uint8_t * out) {
    const __m512i a = _mm512_or_si512(_mm512_cvttps_epi32(lo.v), _mm512_slli_epi32(_mm512_cvttps_epi32(hi.v), 4));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out), _mm512_cvtepi32_epi8(a));
}
inline e16_avx512 lookup16(const e16_avx512 & idx, const float * table) {
    return {_mm512_permutexvar_ps(_mm512_cvttps_epi32(idx.v), _mm512_loadu_ps(table))};
}

// h[l] = v[l] + v[l + 8], then + 4, + 2, + 1 (elem.h's order).
inline float sum(const e16_avx512 & a) {
    const __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(a.v), _mm512_extractf32x8_ps(a.v, 1));
    const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    return _mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
}
inline float hmax(const e16_avx512 & a) { return _mm512_reduce_max_ps(a.v); }
inline float hmin(const e16_avx512 & a) { return _mm512_reduce_min_ps(a.v); }

}  // namespace
}  // namespace lq_w
