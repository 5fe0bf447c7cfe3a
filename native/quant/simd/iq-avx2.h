// AVX2 lane vector for the i-quant search (quant/iq-impl.h): v8a = one __m256. Each operation is
// the IEEE operation of the scalar v8s (min/max with minps/maxps operand order, ordered-quiet
// comparisons, hsum's fixed tree, no FMA), so every variant writes the reference's bytes.
// Included by the AVX2 and AVX-512 builds (the latter with AVX-512VL encodings of the same ops).
#pragma once
#include <immintrin.h>

#include "quant/iq-formats.h"

namespace lq_iq {
namespace {

struct m8a {
    __m256 m;
};
struct v8a {
    __m256 v;
    static v8a load(const float * p) { return {_mm256_loadu_ps(p)}; }
    void store(float * p) const { _mm256_storeu_ps(p, v); }
    static v8a set1(float a) { return {_mm256_set1_ps(a)}; }
};
inline v8a add(const v8a & a, const v8a & b) { return {_mm256_add_ps(a.v, b.v)}; }
inline v8a sub(const v8a & a, const v8a & b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline v8a mul(const v8a & a, const v8a & b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline v8a vmin(const v8a & a, const v8a & b) { return {_mm256_min_ps(a.v, b.v)}; }
inline v8a vmax(const v8a & a, const v8a & b) { return {_mm256_max_ps(a.v, b.v)}; }
inline m8a gt(const v8a & a, const v8a & b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)}; }
inline m8a eq(const v8a & a, const v8a & b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)}; }
inline v8a sel(const m8a & m, const v8a & a, const v8a & b) { return {_mm256_blendv_ps(b.v, a.v, m.m)}; }
inline float hsum(const v8a & a) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));  // v0+v4 .. v3+v7
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));                                      // s0+s2, s1+s3
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}
inline float hmin(const v8a & a) {
    const __m128 s = _mm_min_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
    const __m128 t = _mm_min_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_min_ss(t, _mm_shuffle_ps(t, t, 1)));
}
inline int first_le(const v8a & a, float m) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(a.v, _mm256_set1_ps(m), _CMP_LE_OQ));
    return mask ? __builtin_ctz(static_cast<unsigned>(mask)) : -1;
}
inline void load_cols(const float * rows, const uint16_t * idx, int dim, v8a * c) {
    if (dim == 8) {
        __m256 r[8];
        for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(rows + 8 * static_cast<int>(idx[k]));
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]),
                     t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]),
                     t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]),
                     t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                     u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                     u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                     u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        c[0].v = _mm256_permute2f128_ps(u0, u4, 0x20);
        c[1].v = _mm256_permute2f128_ps(u1, u5, 0x20);
        c[2].v = _mm256_permute2f128_ps(u2, u6, 0x20);
        c[3].v = _mm256_permute2f128_ps(u3, u7, 0x20);
        c[4].v = _mm256_permute2f128_ps(u0, u4, 0x31);
        c[5].v = _mm256_permute2f128_ps(u1, u5, 0x31);
        c[6].v = _mm256_permute2f128_ps(u2, u6, 0x31);
        c[7].v = _mm256_permute2f128_ps(u3, u7, 0x31);
    } else {  // dim 4: lanes k and k + 4 of one register, then 4 x 4 transposes in each half
        __m256 r[4];
        for (int k = 0; k < 4; ++k)
            r[k] = _mm256_set_m128(_mm_loadu_ps(rows + 4 * static_cast<int>(idx[k + 4])), _mm_loadu_ps(rows + 4 * static_cast<int>(idx[k])));
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]),
                     t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        c[0].v = _mm256_shuffle_ps(t0, t2, 0x44);
        c[1].v = _mm256_shuffle_ps(t0, t2, 0xEE);
        c[2].v = _mm256_shuffle_ps(t1, t3, 0x44);
        c[3].v = _mm256_shuffle_ps(t1, t3, 0xEE);
    }
}

}  // namespace
}  // namespace lq_iq
