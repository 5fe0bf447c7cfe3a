// The AVX-512 lane vector of the k-quant search (quant/kquant-search.h): vec32z = two __m512,
// 32 lanes: two 16-lane super-blocks of Q2_K/Q3_K/Q6_K, or four 8-lane super-blocks of Q4_K/Q5_K,
// side by side. Two vectors per operation give the lane passes independent work, and several
// super-blocks per step let their per-super-block scale choices (latency-bound scalar chains)
// overlap. Operations are the scalar lane type's IEEE operations, so the bytes match the reference.
// The per-super-block kernels are AVX2's (simd/kquant-avx2.h). Internal linkage, as there.
#pragma once
// GCC 12 reports a false "__Y is used uninitialized" inside its own _mm512_min/max_ps helpers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "quant/simd/kquant-avx2.h"

namespace lq_kq {
namespace {

// dst[l * w + j] = src[j * 16 + l] (j, l < 16). Zmm a[s] takes in its 128-bit lane c the four floats l = 4g..4g+3
// of row 4c + s (one load and three inserts from memory, which keep off the shuffle port); a 4x4
// transpose inside each lane then gives the rows l = 4g..4g+3 of dst.
inline void transpose16x16(const float * src, float * dst, int w) {
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
        float * d = dst + 4 * g * w;
        _mm512_store_ps(d, _mm512_shuffle_ps(t0, t2, 0x44));
        _mm512_store_ps(d + w, _mm512_shuffle_ps(t0, t2, 0xEE));
        _mm512_store_ps(d + 2 * w, _mm512_shuffle_ps(t1, t3, 0x44));
        _mm512_store_ps(d + 3 * w, _mm512_shuffle_ps(t1, t3, 0xEE));
    }
}

struct vmask32z {
    __mmask16 lo, hi;
};
struct vec32z {
    static constexpr int W = 32;
    typedef vmask32z mask;
    typedef avx2_kernels kernels;
    __m512 lo, hi;
    static vec32z load(const float * p) { return {_mm512_load_ps(p), _mm512_load_ps(p + 16)}; }
    void store(float * p) const {
        _mm512_store_ps(p, lo);
        _mm512_store_ps(p + 16, hi);
    }
    static vec32z set1(float a) { return {_mm512_set1_ps(a), _mm512_set1_ps(a)}; }
    static void transpose_in(const float * src, float * dst, int nl, int lps) {
        if (nl == 16 && lps == 16) transpose16x16(src, dst, W);
        else transpose_tiles(src, dst, nl, lps, W);
    }
    static void levels_out(const float * qt, int nl, int lps, int lane0, int bias, uint8_t * L) {
        levels_tiles(qt, nl, lps, W, lane0, bias, L);
    }
};
#define LQ_VZ2_OP(name, op)                                                                  \
    inline vec32z name(const vec32z & a, const vec32z & b) { return {op(a.lo, b.lo), op(a.hi, b.hi)}; }
LQ_VZ2_OP(operator+, _mm512_add_ps)
LQ_VZ2_OP(operator-, _mm512_sub_ps)
LQ_VZ2_OP(operator*, _mm512_mul_ps)
LQ_VZ2_OP(operator/, _mm512_div_ps)
LQ_VZ2_OP(vmin, _mm512_min_ps)
LQ_VZ2_OP(vmax, _mm512_max_ps)
#undef LQ_VZ2_OP
inline vec32z vabs(const vec32z & a) {
    const __m512i m = _mm512_set1_epi32(0x7fffffff);
    return {_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.lo), m)), _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.hi), m))};
}
inline vmask32z vgt(const vec32z & a, const vec32z & b) { return {_mm512_cmp_ps_mask(a.lo, b.lo, _CMP_GT_OQ), _mm512_cmp_ps_mask(a.hi, b.hi, _CMP_GT_OQ)}; }
inline vmask32z vlt(const vec32z & a, const vec32z & b) { return {_mm512_cmp_ps_mask(a.lo, b.lo, _CMP_LT_OQ), _mm512_cmp_ps_mask(a.hi, b.hi, _CMP_LT_OQ)}; }
inline vmask32z vle(const vec32z & a, const vec32z & b) { return {_mm512_cmp_ps_mask(a.lo, b.lo, _CMP_LE_OQ), _mm512_cmp_ps_mask(a.hi, b.hi, _CMP_LE_OQ)}; }
inline vmask32z vand(const vmask32z & a, const vmask32z & b) {
    return {static_cast<__mmask16>(a.lo & b.lo), static_cast<__mmask16>(a.hi & b.hi)};
}
inline vec32z vsel(const vmask32z & m, const vec32z & a, const vec32z & b) {
    return {_mm512_mask_blend_ps(m.lo, b.lo, a.lo), _mm512_mask_blend_ps(m.hi, b.hi, a.hi)};
}

}  // namespace
}  // namespace lq_kq
