// AVX-512 lane vectors for the k-quant search template (quant/kquant-impl.h): vec16z = one __m512
// (one 16-lane super-block of Q2_K/Q3_K/Q6_K, or two 8-lane super-blocks of Q4_K/Q5_K side by side).
// Operations are the scalar lane type's IEEE operations, so the bytes match the reference.
#pragma once
#include <immintrin.h>

#include "quant/kquant-impl.h"
#include "quant/simd/kquant-avx2.h"

namespace lq_kq {

// dst[l * 16 + j] = src[j * 16 + l]. Zmm a[s] takes in its 128-bit lane c the four floats l = 4g..4g+3
// of row 4c + s (one load and three inserts from memory, which keep off the shuffle port); a 4x4
// transpose inside each lane then gives the rows l = 4g..4g+3 of dst.
inline void transpose16x16(const float * src, float * dst) {
    for (int g = 0; g < 4; ++g) {
        __m512 a[4];
        for (int s = 0; s < 4; ++s) {
            const float * p = src + 16 * s + 4 * g;
            __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(p));
            v = _mm512_insertf32x4(v, _mm_loadu_ps(p + 64), 1);
            v = _mm512_insertf32x4(v, _mm_loadu_ps(p + 128), 2);
            a[s] = _mm512_insertf32x4(v, _mm_loadu_ps(p + 192), 3);
        }
        const __m512 t0 = _mm512_unpacklo_ps(a[0], a[1]), t1 = _mm512_unpackhi_ps(a[0], a[1]);
        const __m512 t2 = _mm512_unpacklo_ps(a[2], a[3]), t3 = _mm512_unpackhi_ps(a[2], a[3]);
        float * d = dst + 64 * g;
        _mm512_store_ps(d, _mm512_shuffle_ps(t0, t2, 0x44));
        _mm512_store_ps(d + 16, _mm512_shuffle_ps(t0, t2, 0xEE));
        _mm512_store_ps(d + 32, _mm512_shuffle_ps(t1, t3, 0x44));
        _mm512_store_ps(d + 48, _mm512_shuffle_ps(t1, t3, 0xEE));
    }
}

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
    static void transpose_in(const float * src, float * dst, int nl, int lps) {
        if (nl == 16 && lps == 16) transpose16x16(src, dst);
        else transpose_tiles(src, dst, nl, lps, W);
    }
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
