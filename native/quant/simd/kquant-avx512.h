// AVX-512 lane vectors for the k-quant search template (quant/kquant-impl.h): vec16z = one __m512
// (one 16-lane super-block of Q2_K/Q3_K/Q6_K, or two 8-lane super-blocks of Q4_K/Q5_K side by side).
// Operations are the scalar lane type's IEEE operations, so the bytes match the reference.
#pragma once
#include <immintrin.h>

#include "quant/kquant-impl.h"
#include "quant/simd/kquant-avx2.h"

namespace lq_kq {

struct vmask16z {
    __mmask16 m;
};
struct vec16z {
    static constexpr int W = 16;
    typedef vmask16z mask;
    __m512 v;
    static vec16z load(const float * p) { return {_mm512_load_ps(p)}; }
    void store(float * p) const { _mm512_store_ps(p, v); }
    static vec16z set1(float a) { return {_mm512_set1_ps(a)}; }
    static void transpose_in(const float * src, float * dst, int nl, int lps) { transpose_tiles(src, dst, nl, lps, W); }
    static void levels_out(const float * qt, int nl, int lps, int lane0, int bias, uint8_t * L) {
        levels_tiles(qt, nl, lps, W, lane0, bias, L);
    }
};
inline vec16z operator+(const vec16z & a, const vec16z & b) { return {_mm512_add_ps(a.v, b.v)}; }
inline vec16z operator-(const vec16z & a, const vec16z & b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline vec16z operator*(const vec16z & a, const vec16z & b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline vec16z operator/(const vec16z & a, const vec16z & b) { return {_mm512_div_ps(a.v, b.v)}; }
inline vec16z vmin(const vec16z & a, const vec16z & b) { return {_mm512_min_ps(a.v, b.v)}; }
inline vec16z vmax(const vec16z & a, const vec16z & b) { return {_mm512_max_ps(a.v, b.v)}; }
inline vec16z vabs(const vec16z & a) {
    return {_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(0x7fffffff)))};
}
inline vmask16z vgt(const vec16z & a, const vec16z & b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ)}; }
inline vmask16z vlt(const vec16z & a, const vec16z & b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)}; }
inline vmask16z vle(const vec16z & a, const vec16z & b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ)}; }
inline vmask16z vand(const vmask16z & a, const vmask16z & b) { return {static_cast<__mmask16>(a.m & b.m)}; }
inline vec16z vsel(const vmask16z & m, const vec16z & a, const vec16z & b) { return {_mm512_mask_blend_ps(m.m, b.v, a.v)}; }

}  // namespace lq_kq
