// AVX2 lane vectors for the k-quant search template (quant/kquant-impl.h): vec8 = one __m256,
// vec16 = two. Each operation is the IEEE operation the scalar lane type performs (min/max have
// minps/maxps operand order, comparisons are ordered-quiet), so the bytes match the reference.
#pragma once
#include <immintrin.h>

#include "quant/kquant-impl.h"

namespace lq_kq {

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
