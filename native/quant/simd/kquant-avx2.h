// The AVX2 "ISA" of the k-quant search (quant/kquant-search.h; kquant-lanes.h is the scalar one):
// lane vectors vec8 = one __m256 and vec16x2 = two, and avx2_kernels, the per-super-block kernels
// and packers with vector instructions. Each operation is the IEEE operation the scalar code
// performs, in the same order (min/max have minps/maxps operand order, comparisons are
// ordered-quiet, partial sums add in the scalar order), so the bytes match the reference.
// Also used by the AVX-512 build (simd/kquant-avx512.h). Internal linkage: the AVX2 and AVX-512
// libraries each keep their own copy.
#pragma once
#include <immintrin.h>

#include <type_traits>

#include "quant/kquant-lanes.h"

namespace lq_kq {
namespace {

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

// ---- per-super-block kernels ------------------------------------------------------------------
// Levels are below 8 and shifts stay inside each byte, so 16-bit lane shifts are exact here.
inline __m256i pack_load32(const uint8_t * p, int mask) {
    return _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)), _mm256_set1_epi8(static_cast<char>(mask)));
}
// kquant-layout.h's pack_2bit.
inline void pack_2bit_avx2(uint8_t * qs, const uint8_t * L) {
    for (int n = 0; n < 2; ++n) {
        const uint8_t * l = L + 128 * n;
        const __m256i a = pack_load32(l, 3), b = pack_load32(l + 32, 3), c = pack_load32(l + 64, 3), d = pack_load32(l + 96, 3);
        const __m256i r = _mm256_or_si256(_mm256_or_si256(a, _mm256_slli_epi16(b, 2)), _mm256_or_si256(_mm256_slli_epi16(c, 4), _mm256_slli_epi16(d, 6)));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(qs + 32 * n), r);
    }
}
// kquant-layout.h's pack_q3_hmask.
inline void pack_q3_hmask_avx2(uint8_t * hmask, const uint8_t * L) {
    __m256i h = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) {
        const __m256i v = pack_load32(L + 32 * k, 4);  // bit 2 of each level, moved to bit k
        h = _mm256_or_si256(h, k >= 2 ? _mm256_slli_epi16(v, k - 2) : _mm256_srli_epi16(v, 2 - k));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(hmask), h);
}

// pack_q3_k straight from the search's lane order (qt[l * w + j] = level q of weight 16*j + l, q + 4
// stored; one super-block in 16 lanes of rows w floats apart), without levels_out's float transposes.
// Per half h (lanes 8h..8h+7): rows become bytes, a byte and a dword 4x4 transpose give R[h][t],
// whose 128-bit lane c' holds sub-block P_j, j = 8h + 4c' + t (its 16 levels). Then
// qs[32n + 16b + l] = sum_k (P_{8n+2k+b}[l] & 3) << 2k and hmask[16b + l] bit k = bit 2 of
// P_{2k+b}[l]; shifts of 16-bit lanes stay inside each byte (values below 8).
inline void pack_q3_k_lanes(block_q3_K * b, const float * qt, int w, const int * ls, float d) {
    const __m256i tr4 = _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    const __m256i four = _mm256_set1_epi8(4), three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1), two = _mm256_set1_epi8(2);
    __m256i R[2][4];
    for (int h = 0; h < 2; ++h) {
        __m256i z[4];
        for (int m = 0; m < 4; ++m) {
            const float * r = qt + 4 * m * w + 8 * h;
            const __m256i a = _mm256_packs_epi32(_mm256_cvttps_epi32(_mm256_load_ps(r)), _mm256_cvttps_epi32(_mm256_load_ps(r + w)));
            const __m256i c = _mm256_packs_epi32(_mm256_cvttps_epi32(_mm256_load_ps(r + 2 * w)), _mm256_cvttps_epi32(_mm256_load_ps(r + 3 * w)));
            // lane c', byte 4i + t = level of row 4m + i, lane 8h + 4c' + t; shuffled to byte 4t + i.
            z[m] = _mm256_shuffle_epi8(_mm256_add_epi8(_mm256_packs_epi16(a, c), four), tr4);
        }
        const __m256i u0 = _mm256_unpacklo_epi32(z[0], z[1]), u1 = _mm256_unpackhi_epi32(z[0], z[1]);
        const __m256i u2 = _mm256_unpacklo_epi32(z[2], z[3]), u3 = _mm256_unpackhi_epi32(z[2], z[3]);
        R[h][0] = _mm256_unpacklo_epi64(u0, u2);
        R[h][1] = _mm256_unpackhi_epi64(u0, u2);
        R[h][2] = _mm256_unpacklo_epi64(u1, u3);
        R[h][3] = _mm256_unpackhi_epi64(u1, u3);
    }
    for (int bb = 0; bb < 2; ++bb) {
        __m128i hm = _mm_setzero_si128();
        for (int h = 0; h < 2; ++h) {
            // Lane c': low bits of k = 2c', 2c' + 1 (n = h); lane 1 moves 4 bits up onto lane 0.
            const __m256i q = _mm256_or_si256(_mm256_and_si256(R[h][bb], three), _mm256_slli_epi16(_mm256_and_si256(R[h][bb + 2], three), 2));
            const __m128i x = _mm_or_si128(_mm256_castsi256_si128(q), _mm_slli_epi16(_mm256_extracti128_si256(q, 1), 4));
            _mm_storeu_si128(reinterpret_cast<__m128i *>(b->qs + 32 * h + 16 * bb), x);
            // Lane c': high bits of k = 4h + 2c' and the next, moved to those bit positions.
            const __m256i t = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(R[h][bb], 2), one), _mm256_and_si256(_mm256_srli_epi16(R[h][bb + 2], 1), two));
            const __m128i lo = _mm256_castsi256_si128(t), hi = _mm256_extracti128_si256(t, 1);
            hm = _mm_or_si128(hm, h ? _mm_or_si128(_mm_slli_epi16(lo, 4), _mm_slli_epi16(hi, 6)) : _mm_or_si128(lo, _mm_slli_epi16(hi, 2)));
        }
        _mm_storeu_si128(reinterpret_cast<__m128i *>(b->hmask + 16 * bb), hm);
    }
    pack_q3_scales(b, ls, d);
}

// The vector form of the fixed-order sums: p holds the partial sums p0..p3; c adds the next 8 values in order.
inline __m128 partials_add8(__m128 p, __m256 c) {
    return _mm_add_ps(_mm_add_ps(p, _mm256_castps256_ps128(c)), _mm256_extractf128_ps(c, 1));
}
// (p0 + p1) + (p2 + p3).
inline float partials_total(__m128 p) {
    const __m128 h = _mm_add_ps(p, _mm_movehdup_ps(p));  // p0 + p1 in lane 0, p2 + p3 in lane 2
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehl_ps(h, h)));
}

// scalar_kernels (kquant-lanes.h), same results; sizes a vector does not fit use the scalar code.
struct avx2_kernels : scalar_kernels {
    template <int LPS>
    static float sum_lanes(const float * t) {
        __m128 p = _mm_setzero_ps();
        for (int j = 0; j < LPS; j += 4) p = _mm_add_ps(p, _mm_loadu_ps(t + j));
        return partials_total(p);
    }

    template <int LPS, int LO, int HI>
    static float steps_error(const float * v, const float * w, float d, float * slv, float * sll) {
        if constexpr (LPS % 8 != 0) {
            return scalar_kernels::steps_error<LPS, LO, HI>(v, w, d, slv, sll);
        } else {
            // 8 lanes at a time (max(LO, a) is a < LO ? LO : a, min(HI, a) is a > HI ? HI : a).
            const float id = 1.0f / d;
            const __m256 vd = _mm256_set1_ps(d), vid = _mm256_set1_ps(id), m = _mm256_set1_ps(kRoundMagic);
            const __m256 lo = _mm256_set1_ps(static_cast<float>(LO)), hi = _mm256_set1_ps(static_cast<float>(HI));
            __m128 p1 = _mm_setzero_ps(), p2 = p1, p3 = p1;
            for (int j = 0; j < LPS; j += 8) {
                const __m256 vv = _mm256_loadu_ps(v + j), vw = _mm256_loadu_ps(w + j);
                __m256 a = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(vv, vid), m), m);
                a = _mm256_min_ps(hi, _mm256_max_ps(lo, a));
                const __m256 r = _mm256_sub_ps(vv, _mm256_mul_ps(vd, a)), wa = _mm256_mul_ps(vw, a);
                p1 = partials_add8(p1, _mm256_mul_ps(wa, vv));
                p2 = partials_add8(p2, _mm256_mul_ps(wa, a));
                p3 = partials_add8(p3, _mm256_mul_ps(_mm256_mul_ps(vw, r), r));
            }
            *slv = partials_total(p1);
            *sll = partials_total(p2);
            return partials_total(p3);
        }
    }

    template <int LPS>
    static float largest_abs(const float * v) {
        if constexpr (LPS != 16) {
            return scalar_kernels::largest_abs<LPS>(v);
        } else {
            // Branch-free: the maximum |v| (exact in any order), then the first lane that equals it.
            const __m256 sign = _mm256_set1_ps(-0.0f);
            const __m256 a0 = _mm256_andnot_ps(sign, _mm256_loadu_ps(v)), a1 = _mm256_andnot_ps(sign, _mm256_loadu_ps(v + 8));
            __m256 m = _mm256_max_ps(a0, a1);
            m = _mm256_max_ps(m, _mm256_permute2f128_ps(m, m, 1));
            m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0x4E));
            m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0xB1));
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(a0, m, _CMP_EQ_OQ)) | (_mm256_movemask_ps(_mm256_cmp_ps(a1, m, _CMP_EQ_OQ)) << 8);
            return _mm256_cvtss_f32(m) > 0.0f ? v[__builtin_ctz(static_cast<unsigned>(hit))] : 0.0f;
        }
    }

    template <int LPS, int LO, int HI>
    static void assign_steps(const float * v, float ib, int * l) {
        if constexpr (LPS % 8 != 0) {
            scalar_kernels::assign_steps<LPS, LO, HI>(v, ib, l);
        } else {
            const __m256 vib = _mm256_set1_ps(ib), m = _mm256_set1_ps(kRoundMagic);
            const __m256i lo = _mm256_set1_epi32(LO), hi = _mm256_set1_epi32(HI);
            for (int j = 0; j < LPS; j += 8) {
                const __m256 t = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + j), vib), m), m);
                const __m256i a = _mm256_cvttps_epi32(t);
                _mm256_storeu_si256(reinterpret_cast<__m256i *>(l + j), _mm256_min_epi32(_mm256_max_epi32(a, lo), hi));
            }
        }
    }

    using scalar_kernels::pack;
    static void pack(block_q2_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) {
        pack_2bit_avx2(b->qs, L);
        pack_q2_scales(b, ls, lm, d, dm);
    }
    static void pack(block_q3_K * b, const uint8_t * L, const int * ls, float d) {
        pack_q3_hmask_avx2(b->hmask, L);
        pack_2bit_avx2(b->qs, L);
        pack_q3_scales(b, ls, d);
    }
    template <int W, class Block>
    static bool pack_lanes(Block * b, const float * qt, int lane0, const int * ls, float d) {
        if constexpr (std::is_same<Block, block_q3_K>::value && W % 16 == 0) {
            pack_q3_k_lanes(b, qt + lane0, W, ls, d);
            return true;
        } else {
            return false;
        }
    }
};

// ---- lane vectors ------------------------------------------------------------------------------
struct vmask8 {
    __m256 m;
};
struct vec8 {
    static constexpr int W = 8;
    typedef vmask8 mask;
    typedef avx2_kernels kernels;
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
    typedef avx2_kernels kernels;
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

}  // namespace
}  // namespace lq_kq

#include "quant/kquant-search.h"
