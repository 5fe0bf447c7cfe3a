// The k-quant search, written once over a lane vector type V so that the scalar reference and every
// SIMD variant run the same IEEE operations in the same order and so write identical bytes.
// Lanes are sub-blocks: a super-block of 256 weights is transposed so that lane j holds sub-block j
// (8 lanes of 32 for Q4_K/Q5_K, 16 lanes of 16 for Q2_K/Q3_K/Q6_K); a V wider than one super-block
// takes several super-blocks side by side. Every reduction runs along a lane, element by element,
// so no horizontal sum (whose order would differ between ISAs) appears in the lane code; the small
// per-super-block steps (scale quantization, the least-squares refit of d/dmin) are plain scalar code.
//
// Search per sub-block (replaces ggml's 20-step brute-force grids):
//  - affine formats (Q2_K/Q4_K/Q5_K, y = s*q + b with b <= 0): a few candidate inverse scales
//    (nmax + delta) / (max - min), each followed by the closed-form weighted least-squares (s, b) for
//    that assignment; then re-assign with the best fit and refit (assignment <-> fit iterations).
//  - symmetric formats (Q3_K/Q6_K, y = s*q): candidates mapping the largest |x| to either end of the
//    level range, least-squares s = <wqx>/<wqq>, then re-assign/refit iterations.
//  Then per super-block: the f16 super-scale(s) d (dmin) are picked among a few candidate steps
//  (plus the level whose f16 step best reproduces the largest sub-block scale) by the scale error
//  weighted with each sub-block's sensitivity, and levels are assigned. Refinement steps follow, each
//  re-assigning the levels and keeping the best state so far: per lane the best integer scale/min
//  around the least-squares fit for the current levels (vectorised), and a least-squares refit of
//  d/dmin over the whole super-block. The objective is the (importance-)weighted squared error;
//  with importance weights more candidates are tried (the optimum moves further from max/min).
// Fixed-order sums (sum_lanes) keep the per-super-block code identical in every build (the AVX2 and
// AVX-512 builds vectorise some of it: steps_error, sum_lanes, largest_abs, with the same operations
// in the same order). sym_row keeps two batches in flight so that the latency-bound per-super-block
// scale choice overlaps the next batch's lane passes.
#pragma once
#include <cstdint>
#include <cstring>

#include "common/blocks.h"
#include "common/fp16.h"
#include "quant/kquants.h"

#if defined(__AVX2__) && !defined(__CUDACC__)
#include <immintrin.h>
#endif

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#define LQ_HD __host__ __device__
#else
#define LQ_HD
#endif

namespace lq_kq {
// Internal linkage: each translation unit (scalar, AVX2, AVX-512, CUDA) keeps its own copy built with
// its own ISA flags. Shared inline definitions would be merged by the linker into whichever ISA's copy
// it met first: slower code in the SIMD variants, or AVX-512 code in the scalar path.
namespace {

constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: (t + M) - M rounds |t| < 2^22 to nearest even

// ---- scalar lane vector ----------------------------------------------------------------------------
template <int N>
struct vmask_s {
    bool m[N];
};

template <int N>
struct vec_s {
    static constexpr int W = N;
    typedef vmask_s<N> mask;
    float v[N];
    LQ_HD static vec_s load(const float * p) {
        vec_s r;
        for (int i = 0; i < N; ++i) r.v[i] = p[i];
        return r;
    }
    LQ_HD void store(float * p) const {
        for (int i = 0; i < N; ++i) p[i] = v[i];
    }
    LQ_HD static vec_s set1(float a) {
        vec_s r;
        for (int i = 0; i < N; ++i) r.v[i] = a;
        return r;
    }
    // L[j * nl + l] = qt[l * W + lane0 + j] + bias, as bytes (levels are small exact integers).
    LQ_HD static void levels_out(const float * qt, int nl, int lps, int lane0, int bias, uint8_t * L) {
        for (int j = 0; j < lps; ++j)
            for (int l = 0; l < nl; ++l) L[j * nl + l] = static_cast<uint8_t>(static_cast<int>(qt[l * N + lane0 + j]) + bias);
    }
    // dst[l * W + j] = src[j * nl + l] for j < lps, l < nl: sub-block j becomes lane j.
    LQ_HD static void transpose_in(const float * src, float * dst, int nl, int lps) {
        for (int j = 0; j < lps; ++j)
            for (int l = 0; l < nl; ++l) dst[l * N + j] = src[j * nl + l];
    }
};

#define LQ_VS_BINOP(op)                                                   \
    template <int N>                                                      \
    LQ_HD inline vec_s<N> operator op(const vec_s<N> & a, const vec_s<N> & b) { \
        vec_s<N> r;                                                       \
        for (int i = 0; i < N; ++i) r.v[i] = a.v[i] op b.v[i];            \
        return r;                                                         \
    }
LQ_VS_BINOP(+)
LQ_VS_BINOP(-)
LQ_VS_BINOP(*)
LQ_VS_BINOP(/)
#undef LQ_VS_BINOP

// vmin(a, b) = a < b ? a : b and vmax(a, b) = a > b ? a : b: exactly minps/maxps semantics.
template <int N>
LQ_HD inline vec_s<N> vmin(const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
    return r;
}
template <int N>
LQ_HD inline vec_s<N> vmax(const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    return r;
}
template <int N>
LQ_HD inline vec_s<N> vabs(const vec_s<N> & a) {
    vec_s<N> r;
#if defined(__CUDA_ARCH__)
    for (int i = 0; i < N; ++i) r.v[i] = fabsf(a.v[i]);
#else
    for (int i = 0; i < N; ++i) r.v[i] = lq_bits_f32(lq_f32_bits(a.v[i]) & 0x7fffffffu);
#endif
    return r;
}
template <int N>
LQ_HD inline vmask_s<N> vgt(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] > b.v[i];
    return r;
}
template <int N>
LQ_HD inline vmask_s<N> vlt(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] < b.v[i];
    return r;
}
template <int N>
LQ_HD inline vmask_s<N> vle(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] <= b.v[i];
    return r;
}
template <int N>
LQ_HD inline vmask_s<N> vand(const vmask_s<N> & a, const vmask_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.m[i] && b.m[i];
    return r;
}
// vsel(m, a, b) = m ? a : b per lane.
template <int N>
LQ_HD inline vec_s<N> vsel(const vmask_s<N> & m, const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = m.m[i] ? a.v[i] : b.v[i];
    return r;
}

template <class V>
LQ_HD inline V vround(const V & a) {
    const V m = V::set1(kRoundMagic);
    return (a + m) - m;
}

// ---- shared scalar helpers ---------------------------------------------------------------------------
LQ_HD inline uint16_t f16_bits(float v) {
#if defined(__CUDA_ARCH__)
    return __half_as_ushort(__float2half_rn(v));
#else
    return lq_f32_to_f16(v);
#endif
}
LQ_HD inline float round_f16(float v) {
#if defined(__CUDA_ARCH__)
    return __half2float(__float2half_rn(v));
#else
    // Normal f16 range: round the mantissa to 10 bits, nearest even, in place (a carry into the
    // exponent is the right result). Elsewhere (subnormal, overflow) the full conversion.
    const uint32_t u = lq_f32_bits(v), a = u & 0x7fffffffu;
    if (a >= 0x38800000u && a < 0x477fe000u) return lq_bits_f32((u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu);
    return lq_f16_to_f32(lq_f32_to_f16(v));
#endif
}
LQ_HD inline int nearest(float v) { return static_cast<int>((v + kRoundMagic) - kRoundMagic); }
LQ_HD inline float clamp_f16_range(float v) {
    return v > 65504.0f ? 65504.0f : (v < -65504.0f ? -65504.0f : v);
}

// ---- packing into ggml layouts (bit positions as ggml's dequantize_row_*) ----------------------------
// Q2_K / Q3_K level w: byte 32*(w/128) + w%32 of qs, bits 2*((w%128)/32).
// Levels are below 8 and shifts stay inside each byte, so the AVX2 builds may shift 16-bit lanes.
#if defined(__AVX2__) && !defined(__CUDACC__)
inline __m256i pack_load32(const uint8_t * p, int mask) {
    return _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)), _mm256_set1_epi8(static_cast<char>(mask)));
}
#endif
LQ_HD inline void pack_2bit(uint8_t * qs, const uint8_t * L) {
#if defined(__AVX2__) && !defined(__CUDACC__)
    for (int n = 0; n < 2; ++n) {
        const uint8_t * l = L + 128 * n;
        const __m256i a = pack_load32(l, 3), b = pack_load32(l + 32, 3), c = pack_load32(l + 64, 3), d = pack_load32(l + 96, 3);
        const __m256i r = _mm256_or_si256(_mm256_or_si256(a, _mm256_slli_epi16(b, 2)), _mm256_or_si256(_mm256_slli_epi16(c, 4), _mm256_slli_epi16(d, 6)));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(qs + 32 * n), r);
    }
    return;
#endif
    for (int n = 0; n < 2; ++n) {
        const uint8_t * l = L + 128 * n;
        for (int i = 0; i < 32; ++i) {
            qs[32 * n + i] = static_cast<uint8_t>((l[i] & 3) | ((l[i + 32] & 3) << 2) | ((l[i + 64] & 3) << 4) | ((l[i + 96] & 3) << 6));
        }
    }
}

LQ_HD inline void pack_q2_k(block_q2_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    for (int j = 0; j < 16; ++j) b->scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
    pack_2bit(b->qs, L);
    b->d = f16_bits(d);
    b->dmin = f16_bits(dmin);
}

// Q3_K's 16 six-bit scales (biased by 32) into its 12 bytes, and the f16 super-scale.
LQ_HD inline void pack_q3_scales(block_q3_K * b, const int * ls, float d) {
    for (int i = 0; i < 12; ++i) b->scales[i] = 0;
    for (int i = 0; i < 16; ++i) {
        const int v = ls[i] + 32;  // 0..63
        b->scales[i % 8] |= static_cast<uint8_t>((v & 0xF) << (i < 8 ? 0 : 4));
        b->scales[8 + i % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (i / 4)));
    }
    b->d = f16_bits(d);
}

LQ_HD inline void pack_q3_k(block_q3_K * b, const uint8_t * L, const int * ls, float d) {
#if defined(__AVX2__) && !defined(__CUDACC__)
    __m256i h = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) {
        const __m256i v = pack_load32(L + 32 * k, 4);  // bit 2 of each level, moved to bit k
        h = _mm256_or_si256(h, k >= 2 ? _mm256_slli_epi16(v, k - 2) : _mm256_srli_epi16(v, 2 - k));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(b->hmask), h);
#else
    for (int i = 0; i < 32; ++i) {
        unsigned h = 0;
        for (int k = 0; k < 8; ++k) h |= ((L[i + 32 * k] >> 2) & 1u) << k;
        b->hmask[i] = static_cast<uint8_t>(h);
    }
#endif
    pack_2bit(b->qs, L);  // keeps the low 2 bits
    pack_q3_scales(b, ls, d);
}

#if defined(__AVX2__) && !defined(__CUDACC__)
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
#endif

LQ_HD inline void pack_scales_k4(uint8_t * q, const int * ls, const int * lm) {
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            q[j] = static_cast<uint8_t>(ls[j]);
            q[j + 4] = static_cast<uint8_t>(lm[j]);
        } else {
            q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
            q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
        }
    }
}

LQ_HD inline void pack_q4_k(block_q4_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    pack_scales_k4(b->scales, ls, lm);
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) b->qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    b->d = f16_bits(d);
    b->dmin = f16_bits(dmin);
}

LQ_HD inline void pack_q5_k(block_q5_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    pack_scales_k4(b->scales, ls, lm);
    for (int i = 0; i < 32; ++i) b->qh[i] = 0;
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
            const int a = L[64 * c + l], e = L[64 * c + 32 + l];
            b->qs[32 * c + l] = static_cast<uint8_t>((a & 0xF) | ((e & 0xF) << 4));
            b->qh[l] |= static_cast<uint8_t>(((a >> 4) << (2 * c)) | ((e >> 4) << (2 * c + 1)));
        }
    }
    b->d = f16_bits(d);
    b->dmin = f16_bits(dmin);
}

LQ_HD inline void pack_q6_k(block_q6_K * b, const uint8_t * L, const int * ls, float d) {
    for (int n = 0; n < 2; ++n) {
        const uint8_t * l = L + 128 * n;
        uint8_t * ql = b->ql + 64 * n;
        uint8_t * qh = b->qh + 32 * n;
        for (int i = 0; i < 32; ++i) {
            const int q1 = l[i], q2 = l[i + 32], q3 = l[i + 64], q4 = l[i + 96];
            ql[i] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
            ql[i + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
            qh[i] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
    }
    for (int j = 0; j < 16; ++j) b->scales[j] = static_cast<int8_t>(ls[j]);
    b->d = f16_bits(d);
}

// ---- lane passes -------------------------------------------------------------------------------------
// Statistics of the input per lane: min, max, signed value of largest |x|, sum w, sum wx, sum wx^2.
// Loads up to NB = W / LPS super-blocks into lanes (lane = one sub-block of LPS weights, NL rows
// of W floats); the lanes of missing super-blocks (nbat < NB at the row's end) are zero.
template <class V, int NL, int LPS, bool HW>
LQ_HD inline void load_batch(const float * x, const float * imp, int nbat, float * xt, float * wt) {
    constexpr int W = V::W, NB = W / LPS;
    for (int bi = 0; bi < NB; ++bi) {
        if (bi < nbat) {
            V::transpose_in(x + bi * LQ_QK_K, xt + bi * LPS, NL, LPS);
            if (HW) V::transpose_in(imp + bi * LQ_QK_K, wt + bi * LPS, NL, LPS);
        } else {
            for (int l = 0; l < NL; ++l) {
                for (int j = 0; j < LPS; ++j) {
                    xt[l * W + bi * LPS + j] = 0.0f;
                    if (HW) wt[l * W + bi * LPS + j] = 0.0f;
                }
            }
        }
    }
}

template <class V, int NL, bool HW>
LQ_HD inline void lane_stats(const float * xt, const float * wt, V & mn, V & mx, V & amax, V & sw, V & sx, V & sxx) {
    constexpr int W = V::W;
    V x = V::load(xt);
    mn = x;
    mx = x;
    amax = x;
    V aa = vabs(x);
    sw = V::set1(0.0f);
    sx = sw;
    sxx = sw;
    for (int l = 0; l < NL; ++l) {
        x = V::load(xt + l * W);
        if (l) {
            mn = vmin(mn, x);
            mx = vmax(mx, x);
            const V ax = vabs(x);
            const typename V::mask bigger = vgt(ax, aa);
            amax = vsel(bigger, x, amax);
            aa = vsel(bigger, ax, aa);
        }
        if (HW) {
            const V wx = V::load(wt + l * W) * x;
            sw = sw + V::load(wt + l * W);
            sx = sx + wx;
            sxx = sxx + wx * x;
        } else {
            sx = sx + x;
            sxx = sxx + x * x;
        }
    }
    if (!HW) sw = V::set1(static_cast<float>(NL));
}

// Assign q = round(clamp((x - off) * inv, lo, hi)) and accumulate sum wq, sum wq^2, sum wqx.
// OFF = false: off is zero, and x - 0 == x exactly, so the subtraction is left out.
template <class V, int NL, bool HW, bool OFF = true>
LQ_HD inline void lane_assign(const float * xt, const float * wt, const V & off, const V & inv, const V & lo, const V & hi,
                        V & sq, V & sqq, V & sqx, float * qt) {
    constexpr int W = V::W;
    sq = V::set1(0.0f);
    sqq = sq;
    sqx = sq;
    for (int l = 0; l < NL; ++l) {
        const V x = V::load(xt + l * W);
        const V q = vround(vmin(vmax((OFF ? x - off : x) * inv, lo), hi));
        if (qt) q.store(qt + l * W);
        if (HW) {
            const V wq = V::load(wt + l * W) * q;
            sq = sq + wq;
            sqq = sqq + wq * q;
            sqx = sqx + wq * x;
        } else {
            sq = sq + q;
            sqq = sqq + q * q;
            sqx = sqx + q * x;
        }
    }
}

// Weighted least squares y = s*q + b with b <= 0 for one assignment, and its error.
template <class V>
LQ_HD inline void fit_affine(const V & sw, const V & sx, const V & sxx, const V & sq, const V & sqq, const V & sqx, V & s, V & b,
                       V & err) {
    const V zero = V::set1(0.0f);
    const V two = V::set1(2.0f);
    const V den = sw * sqq - sq * sq;
    const typename V::mask dpos = vgt(den, zero);
    const V dsafe = vsel(dpos, den, V::set1(1.0f));
    const V su = (sw * sqx - sq * sx) / dsafe;
    const V bu = (sqq * sx - sq * sqx) / dsafe;
    const typename V::mask ok = vand(dpos, vle(bu, zero));
    const typename V::mask qpos = vgt(sqq, zero);
    const V sc = vsel(qpos, sqx / vsel(qpos, sqq, V::set1(1.0f)), zero);
    s = vsel(ok, su, sc);
    b = vsel(ok, bu, zero);
    err = sxx + s * (s * sqq - two * sqx) + b * (b * sw - two * sx) + two * s * b * sq;
}

// Per lane: the best integer (scale, min) pair around the continuous least-squares fit for the
// current levels (sums sq, sqq, sqx), under super-block steps d and dm; floor/ceil of each.
template <class V>
LQ_HD inline void lane_best_ints(const V & d, const V & id, const V & dm, const V & idm, const V & smax, const V & sw, const V & sx,
                           const V & sq, const V & sqq, const V & sqx, V & ls, V & lm) {
    const V zero = V::set1(0.0f), one = V::set1(1.0f), two = V::set1(2.0f);
    const V den = sw * sqq - sq * sq;
    const typename V::mask ok = vand(vgt(den, zero), vgt(d, zero));
    const V dsafe = vsel(ok, den, one);
    V sc = (sw * sqx - sq * sx) / dsafe;
    V mc = zero - (sqq * sx - sq * sqx) / dsafe;
    const typename V::mask neg = vlt(mc, zero);
    sc = vsel(neg, sqx / vsel(vgt(sqq, zero), sqq, one), sc);
    mc = vsel(neg, zero, mc);
    const V ts = vmin(vmax(sc * id, zero), smax), tm = vmin(vmax(mc * idm, zero), smax);
    V fa = vround(ts), fc = vround(tm);
    fa = vsel(vgt(fa, ts), fa - one, fa);
    fc = vsel(vgt(fc, tm), fc - one, fc);
    V best_e = V::set1(3.0e38f), best_a = ls, best_c = lm;
    for (int da = 0; da < 2; ++da) {
        for (int dc = 0; dc < 2; ++dc) {
            const V a = vmin(da ? fa + one : fa, smax), c = vmin(dc ? fc + one : fc, smax);
            const V fs = d * a, fb = zero - dm * c;
            const V e = fs * (fs * sqq - two * sqx) + fb * (fb * sw - two * sx) + two * fs * fb * sq;
            const typename V::mask better = vlt(e, best_e);
            best_e = vsel(better, e, best_e);
            best_a = vsel(better, a, best_a);
            best_c = vsel(better, c, best_c);
        }
    }
    ls = vsel(ok, best_a, ls);
    lm = vsel(ok, best_c, lm);
}

// ---- affine formats: Q2_K, Q4_K, Q5_K --------------------------------------------------------------
struct affine_q4k {
    typedef block_q4_K block;
    static constexpr int NL = 32, LPS = 8, NMAX = 15, SMAX = 63, NCAND = 9, NREF = 2;
    LQ_HD static constexpr float cand(int k) { return -0.8f + 0.2f * static_cast<float>(k); }
    LQ_HD static void pack(block * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) {
        pack_q4_k(b, L, ls, lm, d, dm);
    }
};
struct affine_q5k {
    typedef block_q5_K block;
    static constexpr int NL = 32, LPS = 8, NMAX = 31, SMAX = 63, NCAND = 5, NREF = 2;
    LQ_HD static constexpr float cand(int k) { return -0.6f + 0.3f * static_cast<float>(k); }
    LQ_HD static void pack(block * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) {
        pack_q5_k(b, L, ls, lm, d, dm);
    }
};
struct affine_q2k {
    typedef block_q2_K block;
    static constexpr int NL = 16, LPS = 16, NMAX = 3, SMAX = 15, NCAND = 5, NREF = 2;
    LQ_HD static constexpr float cand(int k) { return -0.5f + 0.25f * static_cast<float>(k); }
    LQ_HD static void pack(block * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) {
        pack_q2_k(b, L, ls, lm, d, dm);
    }
};

// Quantize values v[j] to integers LO..HI times a step d, minimizing sum_j w[j]*(v[j] - d*l[j])^2
// (w = how much the sub-block's error grows per unit of scale error). Candidate steps map the anchor
// (the largest |v|) to level0, level0 -/+ 0.25, ... (towards zero), each also refit by weighted least
// squares; d is returned f16-exact, l[] for that d.
#if defined(__AVX2__) && !defined(__CUDACC__)
// The vector form of sum_lanes: p holds the partial sums p0..p3; c adds the next 8 values in order.
inline __m128 partials_add8(__m128 p, __m256 c) {
    return _mm_add_ps(_mm_add_ps(p, _mm256_castps256_ps128(c)), _mm256_extractf128_ps(c, 1));
}
// (p0 + p1) + (p2 + p3).
inline float partials_total(__m128 p) {
    const __m128 h = _mm_add_ps(p, _mm_movehdup_ps(p));  // p0 + p1 in lane 0, p2 + p3 in lane 2
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehl_ps(h, h)));
}
#endif
// Sum of LPS (a multiple of 4) values in a fixed order: four interleaved partial sums, then
// (p0 + p1) + (p2 + p3); the AVX2 builds keep the four partial sums in one __m128.
template <int LPS>
LQ_HD inline float sum_lanes(const float * t) {
#if defined(__AVX2__) && !defined(__CUDACC__)
    __m128 p = _mm_setzero_ps();
    for (int j = 0; j < LPS; j += 4) p = _mm_add_ps(p, _mm_loadu_ps(t + j));
    return partials_total(p);
#endif
    float p0 = 0.0f, p1 = 0.0f, p2 = 0.0f, p3 = 0.0f;
    for (int j = 0; j < LPS; j += 4) {
        p0 += t[j];
        p1 += t[j + 1];
        p2 += t[j + 2];
        p3 += t[j + 3];
    }
    return (p0 + p1) + (p2 + p3);
}

template <int LPS, int LO, int HI>
LQ_HD inline float steps_error(const float * v, const float * w, float d, float * slv, float * sll) {
    float t1[LPS], t2[LPS], t3[LPS];
    const float id = 1.0f / d;
#if defined(__AVX2__) && !defined(__CUDACC__)
    if (LPS % 8 == 0) {
        // The loop below, 8 lanes at a time (max(LO, a) is a < LO ? LO : a, min(HI, a) is a > HI ? HI : a).
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
#endif
    for (int j = 0; j < LPS; ++j) {
        float a = (v[j] * id + kRoundMagic) - kRoundMagic;
        a = a < static_cast<float>(LO) ? static_cast<float>(LO) : a;
        a = a > static_cast<float>(HI) ? static_cast<float>(HI) : a;
        const float r = v[j] - d * a;
        t1[j] = w[j] * a * v[j];
        t2[j] = w[j] * a * a;
        t3[j] = w[j] * r * r;
    }
    *slv = sum_lanes<LPS>(t1);
    *sll = sum_lanes<LPS>(t2);
    return sum_lanes<LPS>(t3);
}

// The signed value of the first largest |v[j]| (0 when all are zero): the anchor of a symmetric scale.
template <int LPS>
LQ_HD inline float largest_abs(const float * v) {
#if defined(__AVX2__) && !defined(__CUDACC__)
    if (LPS == 16) {
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
#endif
    float best = 0.0f, amax = 0.0f;
    for (int j = 0; j < LPS; ++j) {
        const float a = v[j] < 0.0f ? -v[j] : v[j];
        if (a > amax) {
            amax = a;
            best = v[j];
        }
    }
    return best;
}

template <int LPS, int LO, int HI, int NSTEP = 2, int NHIT = 16>
LQ_HD inline float quantize_steps(const float * v, const float * w, int * l, float anchor, float level0) {
    if (!(anchor != 0.0f)) {
        for (int j = 0; j < LPS; ++j) l[j] = 0;
        return 0.0f;
    }
    // The anchor lands exactly on level0, level0 -/+ 1, ...: each candidate rounds anchor/level to
    // f16 differently, so one of them usually hits the largest scale closely; then the best is
    // refit by least squares over all lanes.
    const float dir = level0 < 0.0f ? 1.0f : -1.0f;
    float best_d = 0.0f, best_e = 3.0e38f, best_slv = 0.0f, best_sll = 0.0f;
    for (int k = 0; k < NSTEP; ++k) {
        const float d = round_f16(clamp_f16_range(anchor / (level0 + dir * static_cast<float>(k))));
        if (d == 0.0f) continue;
        float slv, sll;
        const float e = steps_error<LPS, LO, HI>(v, w, d, &slv, &sll);
        if (e < best_e) {
            best_e = e;
            best_d = d;
            best_slv = slv;
            best_sll = sll;
        }
    }
    // The level in [|level0|/2, |level0|] (at most NHIT of them) whose f16 step reproduces the anchor best.
    if (NHIT > 0) {
        const float sign = level0 < 0.0f ? -1.0f : 1.0f;
        const int top = static_cast<int>(sign * level0), bottom = top / 2 > top - NHIT ? top / 2 : top - NHIT;
        float best_hit = 3.0e38f, hit_d = 0.0f;
        for (int l = top; l > bottom; --l) {
            const float lv = sign * static_cast<float>(l);
            const float d = round_f16(clamp_f16_range(anchor / lv));
            float r = d * lv - anchor;
            r = r < 0.0f ? -r : r;
            if (r < best_hit) {
                best_hit = r;
                hit_d = d;
            }
        }
        if (hit_d != 0.0f) {
            float slv, sll;
            const float e = steps_error<LPS, LO, HI>(v, w, hit_d, &slv, &sll);
            if (e < best_e) {
                best_e = e;
                best_d = hit_d;
                best_slv = slv;
                best_sll = sll;
            }
        }
    }
    if (best_d == 0.0f) {
        // Scales below the smallest f16 step: use that step rather than flushing the block to zero.
        const float d = anchor * level0 > 0.0f ? 5.9604645e-8f : -5.9604645e-8f;
        float slv, sll;
        best_e = steps_error<LPS, LO, HI>(v, w, d, &slv, &sll);
        best_d = d;
        best_slv = slv;
        best_sll = sll;
    }
    const float dfit = best_sll > 0.0f ? round_f16(clamp_f16_range(best_slv / best_sll)) : 0.0f;
    if (dfit != 0.0f) {
        float slv, sll;
        const float e = steps_error<LPS, LO, HI>(v, w, dfit, &slv, &sll);
        if (e < best_e) {
            best_e = e;
            best_d = dfit;
        }
    }
    const float ib = best_d != 0.0f ? 1.0f / best_d : 0.0f;
#if defined(__AVX2__) && !defined(__CUDACC__)
    if (LPS % 8 == 0) {
        const __m256 vib = _mm256_set1_ps(ib), m = _mm256_set1_ps(kRoundMagic);
        const __m256i lo = _mm256_set1_epi32(LO), hi = _mm256_set1_epi32(HI);
        for (int j = 0; j < LPS; j += 8) {
            const __m256 t = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + j), vib), m), m);
            const __m256i a = _mm256_cvttps_epi32(t);
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(l + j), _mm256_min_epi32(_mm256_max_epi32(a, lo), hi));
        }
        return best_d;
    }
#endif
    for (int j = 0; j < LPS; ++j) {
        int a = nearest(v[j] * ib);
        l[j] = a < LO ? LO : (a > HI ? HI : a);
    }
    return best_d;
}

// Per super-block: quantize sub-block scales s[] and mins m[] (m = -b >= 0) to SMAX levels under f16
// super-scales; writes ls/lm, the f16-exact d/dm and per-lane effective scale, offset and inverse.
// ws/wm weight each sub-block's scale/min error (sum wq^2 and sum w of its fit).
template <int LPS, int SMAX, bool HW>
LQ_HD inline void affine_scales(const float * s, const float * b, const float * ws, const float * wm, int * ls, int * lm, float & d,
                          float & dm, float * ds, float * off, float * inv) {
    float m[LPS], max_s = 0.0f, max_m = 0.0f;
    for (int j = 0; j < LPS; ++j) {
        m[j] = -b[j];
        max_s = s[j] > max_s ? s[j] : max_s;
        max_m = m[j] > max_m ? m[j] : max_m;
    }
    d = quantize_steps<LPS, 0, SMAX, HW ? 6 : 2, HW ? 32 : 16>(s, ws, ls, max_s, static_cast<float>(SMAX));
    dm = quantize_steps<LPS, 0, SMAX, HW ? 6 : 2, HW ? 32 : 16>(m, wm, lm, max_m, static_cast<float>(SMAX));
    for (int j = 0; j < LPS; ++j) {
        ds[j] = d * static_cast<float>(ls[j]);
        off[j] = -(dm * static_cast<float>(lm[j]));
        inv[j] = ds[j] > 0.0f ? 1.0f / ds[j] : 0.0f;
    }
}

// Weighted squared error of one super-block given per-lane sums for y = ds*q + off.
template <int LPS>
LQ_HD inline float affine_err(const float * ds, const float * off, const float * sw, const float * sx, const float * sxx, const float * sq,
                        const float * sqq, const float * sqx) {
    float t[LPS];
    for (int j = 0; j < LPS; ++j) {
        const float s = ds[j], b = off[j];
        t[j] = sxx[j] + s * (s * sqq[j] - 2.0f * sqx[j]) + b * (b * sw[j] - 2.0f * sx[j]) + 2.0f * s * b * sq[j];
    }
    return sum_lanes<LPS>(t);
}

template <class V, class F, bool HW>
LQ_HD inline void affine_row(const float * x, void * vy, int64_t n, const float * imp) {
    constexpr int W = V::W, LPS = F::LPS, NL = F::NL, NB = W / LPS;
    static_assert(LPS * NL == LQ_QK_K, "sub-blocks must tile the super-block");
    static_assert(NB * LPS == W, "vector width must hold whole super-blocks");
    typedef typename F::block block;
    block * y = static_cast<block *>(vy);
    const int64_t nsb = n / LQ_QK_K;
    alignas(64) float xt[NL * W], wt[HW ? NL * W : 1], qa[NL * W], qb[NL * W];
    alignas(64) float s[W], b[W], sw[W], sx[W], sxx[W], sq[W], sqq[W], sqx[W];
    alignas(64) float ds[W], off[W], inv[W];
    int ls[W], lm[W];
    float dd[NB], dmm[NB];
    const V zero = V::set1(0.0f), nmax = V::set1(static_cast<float>(F::NMAX)), smaxv = V::set1(static_cast<float>(F::SMAX));
    for (int64_t sb0 = 0; sb0 < nsb; sb0 += NB) {
        const int nbat = static_cast<int>(nsb - sb0 < NB ? nsb - sb0 : NB);
        load_batch<V, NL, LPS, HW>(x + sb0 * LQ_QK_K, imp ? imp + sb0 * LQ_QK_K : nullptr, nbat, xt, wt);
        // 1. per sub-block search.
        V mn, mx, amax, vsw, vsx, vsxx;
        lane_stats<V, NL, HW>(xt, wt, mn, mx, amax, vsw, vsx, vsxx);
        mn = vmin(mn, zero);
        const V range = mx - mn;
        const typename V::mask rpos = vgt(range, zero);
        const V rsafe = vsel(rpos, range, V::set1(1.0f));
        V best_s = zero, best_b = zero, best_e = V::set1(3.0e38f), best_qq = zero;
        // Assign with (offset, inverse scale), refit, keep the fit where it lowers the error.
        auto consider = [&](const V & off, const V & inv) {
            V vsq, vsqq, vsqx, cs, cb, ce;
            lane_assign<V, NL, HW>(xt, wt, off, inv, zero, nmax, vsq, vsqq, vsqx, nullptr);
            fit_affine(vsw, vsx, vsxx, vsq, vsqq, vsqx, cs, cb, ce);
            const typename V::mask better = vlt(ce, best_e);
            best_s = vsel(better, cs, best_s);
            best_b = vsel(better, cb, best_b);
            best_e = vsel(better, ce, best_e);
            best_qq = vsel(better, vsqq, best_qq);
        };
        for (int k = 0; k < F::NCAND; ++k)
            consider(mn, vsel(rpos, V::set1(static_cast<float>(F::NMAX) + F::cand(k)) / rsafe, zero));
        for (int r = 0; r < F::NREF; ++r) {
            const typename V::mask spos = vgt(best_s, zero);
            consider(best_b, vsel(spos, V::set1(1.0f) / vsel(spos, best_s, V::set1(1.0f)), zero));
        }
        vsel(rpos, best_s, zero).store(s);
        vsel(rpos, best_b, mn).store(b);
        vsw.store(sw);
        vsx.store(sx);
        vsxx.store(sxx);
        best_qq.store(sqq);
        // 2. quantize the scales (A); re-choose the integer scales/mins for those levels (B); refit
        //    d/dmin by least squares over the super-block (C); re-choose the integers again (D).
        //    Each step re-assigns the levels; per super-block the best state so far is kept.
        for (int bi = 0; bi < NB; ++bi) {
            const int o = bi * LPS;
            affine_scales<LPS, F::SMAX, HW>(s + o, b + o, sqq + o, sw + o, ls + o, lm + o, dd[bi], dmm[bi], ds + o, off + o, inv + o);
        }
        float be[NB], e2[NB];
        alignas(64) float bsq[W], bsqq[W], bsqx[W], fd[W], fid[W], fdm[W], fidm[W], fls[W], flm[W];
        int bls[W], blm[W];
        float bd[NB], bdm[NB];
        auto evaluate = [&](float * qt, float * e) {
            for (int bi = 0; bi < NB; ++bi) {
                for (int j = bi * LPS; j < (bi + 1) * LPS; ++j) {
                    ds[j] = dd[bi] * static_cast<float>(ls[j]);
                    off[j] = -(dmm[bi] * static_cast<float>(lm[j]));
                    inv[j] = ds[j] > 0.0f ? 1.0f / ds[j] : 0.0f;
                }
            }
            V vsq, vsqq, vsqx;
            lane_assign<V, NL, HW>(xt, wt, V::load(off), V::load(inv), zero, nmax, vsq, vsqq, vsqx, qt);
            vsq.store(sq);
            vsqq.store(sqq);
            vsqx.store(sqx);
            for (int bi = 0; bi < NB; ++bi) {
                const int o = bi * LPS;
                e[bi] = affine_err<LPS>(ds + o, off + o, sw + o, sx + o, sxx + o, sq + o, sqq + o, sqx + o);
            }
        };
        auto keep = [&](int bi, const float * qt) {
            const int o = bi * LPS;
            bd[bi] = dd[bi];
            bdm[bi] = dmm[bi];
            for (int j = o; j < o + LPS; ++j) {
                bls[j] = ls[j];
                blm[j] = lm[j];
                bsq[j] = sq[j];
                bsqq[j] = sqq[j];
                bsqx[j] = sqx[j];
            }
            if (qt != qa)
                for (int l = 0; l < NL; ++l)
                    for (int j = o; j < o + LPS; ++j) qa[l * W + j] = qt[l * W + j];
        };
        evaluate(qa, be);
        for (int bi = 0; bi < NB; ++bi) keep(bi, qa);
        for (int step = 0; step < 3; ++step) {
            for (int bi = 0; bi < NB; ++bi) {
                const int o = bi * LPS;
                dd[bi] = bd[bi];
                dmm[bi] = bdm[bi];
                if (step != 1) {
                    for (int j = o; j < o + LPS; ++j) {
                        fd[j] = dd[bi];
                        fid[j] = dd[bi] > 0.0f ? 1.0f / dd[bi] : 0.0f;
                        fdm[j] = dmm[bi];
                        fidm[j] = dmm[bi] > 0.0f ? 1.0f / dmm[bi] : 0.0f;
                        fls[j] = static_cast<float>(bls[j]);
                        flm[j] = static_cast<float>(blm[j]);
                    }
                } else {
                    // d and dmin: least squares over the super-block (x ~ d*ls*q - dmin*lm).
                    float saa = 0.0f, sac = 0.0f, scc = 0.0f, sax = 0.0f, scx = 0.0f;
                    for (int j = o; j < o + LPS; ++j) {
                        ls[j] = bls[j];
                        lm[j] = blm[j];
                        const float a = static_cast<float>(ls[j]), c = static_cast<float>(lm[j]);
                        saa += a * a * bsqq[j];
                        sac += a * c * bsq[j];
                        scc += c * c * sw[j];
                        sax += a * bsqx[j];
                        scx += c * sx[j];
                    }
                    const float den = saa * scc - sac * sac;
                    float d2 = 0.0f, dm2 = 0.0f;
                    if (den > 0.0f) {
                        d2 = (sax * scc - sac * scx) / den;
                        dm2 = (sac * sax - saa * scx) / den;
                    }
                    if (!(den > 0.0f) || dm2 < 0.0f) {
                        dm2 = 0.0f;
                        d2 = saa > 0.0f ? sax / saa : 0.0f;
                    }
                    if (d2 < 0.0f) d2 = 0.0f;
                    dd[bi] = round_f16(clamp_f16_range(d2));
                    dmm[bi] = round_f16(clamp_f16_range(dm2));
                }
            }
            if (step != 1) {
                V vls = V::load(fls), vlm = V::load(flm);
                lane_best_ints(V::load(fd), V::load(fid), V::load(fdm), V::load(fidm), smaxv, vsw, vsx, V::load(bsq), V::load(bsqq),
                               V::load(bsqx), vls, vlm);
                vls.store(fls);
                vlm.store(flm);
                for (int j = 0; j < W; ++j) {
                    ls[j] = static_cast<int>(fls[j]);
                    lm[j] = static_cast<int>(flm[j]);
                }
            }
            evaluate(qb, e2);
            for (int bi = 0; bi < NB; ++bi) {
                if (e2[bi] < be[bi]) {
                    be[bi] = e2[bi];
                    keep(bi, qb);
                }
            }
        }
        // 3. pack the kept state.
        for (int bi = 0; bi < nbat; ++bi) {
            const int o = bi * LPS;
            uint8_t L[LQ_QK_K];
            V::levels_out(qa, NL, LPS, o, 0, L);
            F::pack(y + sb0 + bi, L, bls + o, blm + o, bd[bi], bdm[bi]);
        }
    }
}

// ---- symmetric formats: Q3_K, Q6_K -----------------------------------------------------------------
struct sym_q3k {
    typedef block_q3_K block;
    static constexpr int NL = 16, LPS = 16, QMIN = -4, QMAX = 3, SMIN = -32, SMAXV = 31;
    // Candidates map the largest |x| to about QMIN (the longer side) or QMAX. Without importance
    // weights the two ends alone already beat ggml's error (and keep Q3_K at >= 10x its speed);
    // with weights the optimum moves further, so more candidates and refinement steps are tried.
    LQ_HD static constexpr int ncand(bool hw) { return hw ? 12 : 2; }
    LQ_HD static constexpr int nsteps(bool hw) { return hw ? 3 : 0; }
    LQ_HD static constexpr int nref(bool hw) { return hw ? 2 : 0; }
    LQ_HD static constexpr float cand_level(int k, bool hw) {
        return hw ? (k < 9 ? -(3.2f + 0.2f * static_cast<float>(k)) : 2.7f + 0.3f * static_cast<float>(k - 9))
                  : (k == 0 ? -4.0f : 3.0f);
    }
    LQ_HD static void pack(block * b, const uint8_t * L, const int * ls, float d) { pack_q3_k(b, L, ls, d); }
    // Packs straight from the lane-ordered levels where a vector build can (else false: levels_out + pack).
    template <class V>
    LQ_HD static bool pack_lanes(block * b, const float * qt, int lane0, const int * ls, float d) {
#if defined(__AVX2__) && !defined(__CUDACC__)
        if (V::W % 16 == 0) {
            pack_q3_k_lanes(b, qt + lane0, V::W, ls, d);
            return true;
        }
#endif
        return false;
    }
};
struct sym_q6k {
    typedef block_q6_K block;
    static constexpr int NL = 16, LPS = 16, QMIN = -32, QMAX = 31, SMIN = -128, SMAXV = 127;
    LQ_HD static constexpr int ncand(bool hw) { return hw ? 10 : 3; }
    LQ_HD static constexpr int nsteps(bool hw) { return hw ? 3 : 1; }
    LQ_HD static constexpr int nref(bool hw) { return hw ? 2 : 1; }
    LQ_HD static constexpr float cand_level(int k, bool hw) {
        return hw ? (k < 8 ? -(30.6f + 0.4f * static_cast<float>(k)) : 30.5f + 0.5f * static_cast<float>(k - 8))
                  : (k < 2 ? -(31.7f + 0.5f * static_cast<float>(k)) : 31.0f);
    }
    LQ_HD static void pack(block * b, const uint8_t * L, const int * ls, float d) { pack_q6_k(b, L, ls, d); }
    template <class V>
    LQ_HD static bool pack_lanes(block *, const float *, int, const int *, float) { return false; }
};

// Least squares s = <wqx>/<wqq>; score = <wqx>^2/<wqq> (the error reduction, larger is better).
template <class V>
LQ_HD inline void fit_sym(const V & sqq, const V & sqx, V & s, V & score) {
    const V zero = V::set1(0.0f);
    const typename V::mask qpos = vgt(sqq, zero);
    const V den = vsel(qpos, sqq, V::set1(1.0f));
    s = vsel(qpos, sqx / den, zero);
    score = vsel(qpos, (sqx * sqx) / den, zero);
}

template <class V, class F, bool HW>
LQ_HD inline void sym_row(const float * x, void * vy, int64_t n, const float * imp) {
    constexpr int W = V::W, LPS = F::LPS, NL = F::NL, NB = W / LPS;
    static_assert(LPS * NL == LQ_QK_K, "sub-blocks must tile the super-block");
    static_assert(NB * LPS == W, "vector width must hold whole super-blocks");
    typedef typename F::block block;
    block * y = static_cast<block *>(vy);
    const int64_t nsb = n / LQ_QK_K;
    // Two batches in flight (buffers 0/1): the sub-block search of batch k + 1 is issued between the
    // scale choice of batch k (a latency-bound chain of divisions and f16 roundings) and its level
    // assignment, so the out-of-order core overlaps the two.
    alignas(64) float xt[2][NL * W], wt[2][HW ? NL * W : 1], s[2][W], cqq[2][W], sxx[2][W];
    alignas(64) float qa[NL * W], qb[NL * W], sqq[W], sqx[W];
    int ls[W];
    float dd[NB];
    const V zero = V::set1(0.0f), one = V::set1(1.0f), two = V::set1(2.0f), lo = V::set1(static_cast<float>(F::QMIN)),
            hi = V::set1(static_cast<float>(F::QMAX));
    // Per lane: the least-squares scale s and its weight sum wq^2 of the best candidate, and sum wx^2.
    auto search = [&](int64_t sb0, int buf) {
        const int nbat = static_cast<int>(nsb - sb0 < NB ? nsb - sb0 : NB);
        const float * xc = xt[buf];
        const float * wc = wt[buf];
        load_batch<V, NL, LPS, HW>(x + sb0 * LQ_QK_K, imp ? imp + sb0 * LQ_QK_K : nullptr, nbat, xt[buf], wt[buf]);
        V mn, mx, amax, vsw, vsx, vsxx;
        lane_stats<V, NL, HW>(xc, wc, mn, mx, amax, vsw, vsx, vsxx);
        const typename V::mask apos = vgt(vabs(amax), zero);
        const V asafe = vsel(apos, amax, one);
        V best_s = zero, best_score = V::set1(-1.0f), best_qq = zero;
        // Assign with an inverse scale, refit, keep the fit where it scores better.
        auto consider = [&](const V & inv) {
            V vsq, vsqq, vsqx, cs, cscore;
            lane_assign<V, NL, HW, false>(xc, wc, zero, inv, lo, hi, vsq, vsqq, vsqx, nullptr);
            fit_sym(vsqq, vsqx, cs, cscore);
            const typename V::mask better = vgt(cscore, best_score);
            best_s = vsel(better, cs, best_s);
            best_score = vsel(better, cscore, best_score);
            best_qq = vsel(better, vsqq, best_qq);
        };
        for (int k = 0; k < F::ncand(HW); ++k) consider(vsel(apos, V::set1(F::cand_level(k, HW)) / asafe, zero));
        for (int r = 0; r < F::nref(HW); ++r) {
            const typename V::mask snz = vgt(vabs(best_s), zero);
            consider(vsel(snz, one / vsel(snz, best_s, one), zero));
        }
        vsel(apos, best_s, zero).store(s[buf]);
        best_qq.store(cqq[buf]);
        vsxx.store(sxx[buf]);
    };
    if (nsb > 0) search(0, 0);
    for (int64_t sb0 = 0; sb0 < nsb; sb0 += NB) {
        const int nbat = static_cast<int>(nsb - sb0 < NB ? nsb - sb0 : NB), buf = static_cast<int>((sb0 / NB) & 1);
        // Scales: the largest |s| maps to SMIN (the longer side), d = s_max / SMIN. Without importance
        // weights one step plus the least-squares refit of d is as good as the wider search.
        for (int bi = 0; bi < NB; ++bi) {
            const int o = bi * LPS;
            dd[bi] = quantize_steps<LPS, F::SMIN, F::SMAXV, HW ? 6 : 1, HW ? 32 : 0>(s[buf] + o, cqq[buf] + o, ls + o, largest_abs<LPS>(s[buf] + o),
                                                                                    static_cast<float>(F::SMIN));
        }
        if (sb0 + NB < nsb) search(sb0 + NB, buf ^ 1);
        const float * xc = xt[buf];
        const float * wc = wt[buf];
        const V vsxx = V::load(sxx[buf]);
        V vsq, vsqq, vsqx;
        // Re-choose the integer scales for the levels (steps 0, 2) or refit d (step 1); keep the best.
        float be[NB], e2[NB];
        alignas(64) float bsqq[W], bsqx[W], scf[W], t[W];
        int bls[W];
        float bd[NB];
        auto evaluate = [&](float * qt, float * e) {
            for (int bi = 0; bi < NB; ++bi)
                for (int j = bi * LPS; j < (bi + 1) * LPS; ++j) scf[j] = dd[bi] * static_cast<float>(ls[j]);
            const V sc = V::load(scf);
            const typename V::mask nz = vgt(vabs(sc), zero);
            lane_assign<V, NL, HW, false>(xc, wc, zero, vsel(nz, one / vsel(nz, sc, one), zero), lo, hi, vsq, vsqq, vsqx, qt);
            if (F::nsteps(HW) == 0) return;  // the sums and the error feed only the refinement steps
            vsqq.store(sqq);
            vsqx.store(sqx);
            (vsxx + sc * (sc * vsqq - two * vsqx)).store(t);
            for (int bi = 0; bi < NB; ++bi) e[bi] = sum_lanes<LPS>(t + bi * LPS);
        };
        auto keep = [&](int bi, const float * qt) {
            const int o = bi * LPS;
            bd[bi] = dd[bi];
            for (int j = o; j < o + LPS; ++j) {
                bls[j] = ls[j];
                if (F::nsteps(HW) == 0) continue;
                bsqq[j] = sqq[j];
                bsqx[j] = sqx[j];
            }
            if (qt != qa)
                for (int l = 0; l < NL; ++l)
                    for (int j = o; j < o + LPS; ++j) qa[l * W + j] = qt[l * W + j];
        };
        evaluate(qa, be);
        for (int bi = 0; bi < NB; ++bi) keep(bi, qa);
        for (int step = 0; step < F::nsteps(HW); ++step) {
            for (int bi = 0; bi < NB; ++bi) {
                const int o = bi * LPS;
                dd[bi] = bd[bi];
                if (step != 1) {
                    const float d = dd[bi];
                    for (int j = o; j < o + LPS; ++j) {
                        ls[j] = bls[j];
                        if (!(bsqq[j] > 0.0f) || d == 0.0f) continue;
                        const int a = nearest(bsqx[j] / bsqq[j] / d);
                        ls[j] = a < F::SMIN ? F::SMIN : (a > F::SMAXV ? F::SMAXV : a);
                    }
                } else {
                    float saa = 0.0f, sax = 0.0f;
                    for (int j = o; j < o + LPS; ++j) {
                        ls[j] = bls[j];
                        const float a = static_cast<float>(ls[j]);
                        saa += a * a * bsqq[j];
                        sax += a * bsqx[j];
                    }
                    dd[bi] = round_f16(clamp_f16_range(saa > 0.0f ? sax / saa : 0.0f));
                }
            }
            evaluate(qb, e2);
            for (int bi = 0; bi < NB; ++bi) {
                if (e2[bi] < be[bi]) {
                    be[bi] = e2[bi];
                    keep(bi, qb);
                }
            }
        }
        for (int bi = 0; bi < nbat; ++bi) {
            const int o = bi * LPS;
            if (F::template pack_lanes<V>(y + sb0 + bi, qa, o, bls + o, bd[bi])) continue;
            uint8_t L[LQ_QK_K];
            V::levels_out(qa, NL, LPS, o, -F::QMIN, L);
            F::pack(y + sb0 + bi, L, bls + o, bd[bi]);
        }
    }
}

template <class V, class F>
LQ_HD inline void affine_quantize(const float * x, void * y, int64_t n, const float * imp) {
    if (imp) affine_row<V, F, true>(x, y, n, imp);
    else affine_row<V, F, false>(x, y, n, nullptr);
}
template <class V, class F>
LQ_HD inline void sym_quantize(const float * x, void * y, int64_t n, const float * imp) {
    if (imp) sym_row<V, F, true>(x, y, n, imp);
    else sym_row<V, F, false>(x, y, n, nullptr);
}

}  // namespace
}  // namespace lq_kq
