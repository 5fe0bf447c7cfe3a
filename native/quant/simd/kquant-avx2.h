// AVX2 lane vectors for the k-quant search template (quant/kquant-impl.h): vec8 = one __m256,
// vec16 = two. Each operation is the IEEE operation the scalar lane type performs (min/max have
// minps/maxps operand order, comparisons are ordered-quiet), so the bytes match the reference.
#pragma once
#include <immintrin.h>

#include "quant/kquant-impl.h"

namespace lq_kq {

// dst rows (stride ds) = columns of the 8x8 block at src (stride ss). Moves floats only.
inline void transpose8x8(const float * src, int ss, float * dst, int ds) {
    __m256 r0 = _mm256_loadu_ps(src + 0 * ss), r1 = _mm256_loadu_ps(src + 1 * ss), r2 = _mm256_loadu_ps(src + 2 * ss),
           r3 = _mm256_loadu_ps(src + 3 * ss), r4 = _mm256_loadu_ps(src + 4 * ss), r5 = _mm256_loadu_ps(src + 5 * ss),
           r6 = _mm256_loadu_ps(src + 6 * ss), r7 = _mm256_loadu_ps(src + 7 * ss);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
                 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44),
                 u3 = _mm256_shuffle_ps(t1, t3, 0xEE), u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ds, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * ds, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// L[j * nl + l] = src[l * w + lane0 + j] + bias as bytes (exact small integers), via 8x8 float
// tiles back into weight order and a 32 -> 8 bit narrowing of 16 values at a time.
inline void levels_tiles(const float * qt, int nl, int lps, int w, int lane0, int bias, uint8_t * L) {
    alignas(32) float tmp[256];
    for (int jb = 0; jb < lps; jb += 8)
        for (int lb = 0; lb < nl; lb += 8) transpose8x8(qt + lb * w + lane0 + jb, w, tmp + jb * nl + lb, nl);
    const __m256 vb = _mm256_set1_ps(static_cast<float>(bias));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int i = 0; i < nl * lps; i += 16) {
        const __m256i a = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_load_ps(tmp + i), vb));
        const __m256i b = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_load_ps(tmp + i + 8), vb));
        const __m256i p16 = _mm256_packs_epi32(a, b);       // a0-3 b0-3 | a4-7 b4-7 (16-bit)
        const __m256i p8 = _mm256_packus_epi16(p16, p16);  // bytes, each 128-bit half doubled
        const __m256i o = _mm256_permutevar8x32_epi32(p8, order);
        _mm_storeu_si128(reinterpret_cast<__m128i *>(L + i), _mm256_castsi256_si128(o));
    }
}

// dst[l * w + j] = src[j * nl + l] (nl, lps multiples of 8), in 8x8 tiles.
inline void transpose_tiles(const float * src, float * dst, int nl, int lps, int w) {
    for (int jb = 0; jb < lps; jb += 8)
        for (int lb = 0; lb < nl; lb += 8) transpose8x8(src + jb * nl + lb, nl, dst + lb * w + jb, w);
}

struct vmask8 {
    __m256 m;
};
struct vec8 {
    static constexpr int W = 8;
    typedef vmask8 mask;
    __m256 v;
    static vec8 load(const float * p) { return {_mm256_load_ps(p)}; }
    void store(float * p) const { _mm256_store_ps(p, v); }
    static vec8 set1(float a) { return {_mm256_set1_ps(a)}; }
    static void transpose_in(const float * src, float * dst, int nl, int lps) { transpose_tiles(src, dst, nl, lps, W); }
    static void levels_out(const float * qt, int nl, int lps, int lane0, int bias, uint8_t * L) {
        levels_tiles(qt, nl, lps, W, lane0, bias, L);
    }
};
inline vec8 operator+(const vec8 & a, const vec8 & b) { return {_mm256_add_ps(a.v, b.v)}; }
inline vec8 operator-(const vec8 & a, const vec8 & b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline vec8 operator*(const vec8 & a, const vec8 & b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline vec8 operator/(const vec8 & a, const vec8 & b) { return {_mm256_div_ps(a.v, b.v)}; }
inline vec8 vmin(const vec8 & a, const vec8 & b) { return {_mm256_min_ps(a.v, b.v)}; }
inline vec8 vmax(const vec8 & a, const vec8 & b) { return {_mm256_max_ps(a.v, b.v)}; }
inline vec8 vabs(const vec8 & a) { return {_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)}; }
inline vmask8 vgt(const vec8 & a, const vec8 & b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)}; }
inline vmask8 vlt(const vec8 & a, const vec8 & b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }
inline vmask8 vle(const vec8 & a, const vec8 & b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)}; }
inline vmask8 vand(const vmask8 & a, const vmask8 & b) { return {_mm256_and_ps(a.m, b.m)}; }
inline vec8 vsel(const vmask8 & m, const vec8 & a, const vec8 & b) { return {_mm256_blendv_ps(b.v, a.v, m.m)}; }

struct vmask16x2 {
    __m256 lo, hi;
};
struct vec16x2 {
    static constexpr int W = 16;
    typedef vmask16x2 mask;
    __m256 lo, hi;
    static vec16x2 load(const float * p) { return {_mm256_load_ps(p), _mm256_load_ps(p + 8)}; }
    void store(float * p) const {
        _mm256_store_ps(p, lo);
        _mm256_store_ps(p + 8, hi);
    }
    static vec16x2 set1(float a) { return {_mm256_set1_ps(a), _mm256_set1_ps(a)}; }
    static void transpose_in(const float * src, float * dst, int nl, int lps) { transpose_tiles(src, dst, nl, lps, W); }
    static void levels_out(const float * qt, int nl, int lps, int lane0, int bias, uint8_t * L) {
        levels_tiles(qt, nl, lps, W, lane0, bias, L);
    }
};
#define LQ_V2_OP(name, intr) \
    inline vec16x2 name(const vec16x2 & a, const vec16x2 & b) { return {intr(a.lo, b.lo), intr(a.hi, b.hi)}; }
LQ_V2_OP(operator+, _mm256_add_ps)
LQ_V2_OP(operator-, _mm256_sub_ps)
LQ_V2_OP(operator*, _mm256_mul_ps)
LQ_V2_OP(operator/, _mm256_div_ps)
LQ_V2_OP(vmin, _mm256_min_ps)
LQ_V2_OP(vmax, _mm256_max_ps)
#undef LQ_V2_OP
inline vec16x2 vabs(const vec16x2 & a) {
    const __m256 s = _mm256_set1_ps(-0.0f);
    return {_mm256_andnot_ps(s, a.lo), _mm256_andnot_ps(s, a.hi)};
}
inline vmask16x2 vgt(const vec16x2 & a, const vec16x2 & b) {
    return {_mm256_cmp_ps(a.lo, b.lo, _CMP_GT_OQ), _mm256_cmp_ps(a.hi, b.hi, _CMP_GT_OQ)};
}
inline vmask16x2 vlt(const vec16x2 & a, const vec16x2 & b) {
    return {_mm256_cmp_ps(a.lo, b.lo, _CMP_LT_OQ), _mm256_cmp_ps(a.hi, b.hi, _CMP_LT_OQ)};
}
inline vmask16x2 vle(const vec16x2 & a, const vec16x2 & b) {
    return {_mm256_cmp_ps(a.lo, b.lo, _CMP_LE_OQ), _mm256_cmp_ps(a.hi, b.hi, _CMP_LE_OQ)};
}
inline vmask16x2 vand(const vmask16x2 & a, const vmask16x2 & b) { return {_mm256_and_ps(a.lo, b.lo), _mm256_and_ps(a.hi, b.hi)}; }
inline vec16x2 vsel(const vmask16x2 & m, const vec16x2 & a, const vec16x2 & b) {
    return {_mm256_blendv_ps(b.lo, a.lo, m.lo), _mm256_blendv_ps(b.hi, a.hi, m.hi)};
}

}  // namespace lq_kq
