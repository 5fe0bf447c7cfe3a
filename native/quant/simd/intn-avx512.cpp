// AVX-512 variant of the group-wise intN quantizer (intn.cpp): per group a masked min/max
// reduction (the tail lanes are filled with the group's first value, neutral for min and max),
// lq_intn_params_minmax (done with F16C here), then 16 lanes at a time (x - zero) * (1/scale), clamp to
// [0, 2^N - 1], round to nearest even, narrow to bytes and bit-pack with PEXT. Identical bytes to
// the reference; with importance weights it defers to the reference.
// GCC 12 reports a false "may be used uninitialized" inside its own _mm512_reduce_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "quant/basic.h"
#include "quant/simd/pack-bits.h"

namespace {

inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1); }

// lq_intn_params_minmax with F16C conversions (bit-identical to fp16.h's RNE conversions).
inline uint16_t f16_sat(float d) {
    d = d > LQ_F16_MAX ? LQ_F16_MAX : d;
    d = d < -LQ_F16_MAX ? -LQ_F16_MAX : d;
    return static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
}
inline lq_intn_params params_minmax(float mn, float mx, int bits) {
    const float nmax = static_cast<float>((1 << bits) - 1);
    mn += 0.0f;
    mx += 0.0f;
    lq_intn_params p;
    p.zero_h = f16_sat(mn);
    p.scale_h = f16_sat((mx - mn) / nmax);
    p.zero = _cvtsh_ss(p.zero_h);
    const float s = _cvtsh_ss(p.scale_h);
    p.inv_scale = s > 0.0f ? 1.0f / s : 0.0f;
    return p;
}

// Full groups of a compile-time length (32/64/128): no masks, fully unrolled.
template <int BITS, int LEN>
void quantize_group_fixed(const float * x, uint8_t * out) {
    constexpr int NV = LEN / 16;
    __m512 v[NV];
    for (int k = 0; k < NV; ++k) v[k] = _mm512_loadu_ps(x + 16 * k);
    __m512 vmin = v[0], vmax = v[0];
    for (int k = 1; k < NV; ++k) {
        vmin = _mm512_min_ps(vmin, v[k]);
        vmax = _mm512_max_ps(vmax, v[k]);
    }
    const lq_intn_params p = params_minmax(_mm512_reduce_min_ps(vmin), _mm512_reduce_max_ps(vmax), BITS);
    lq_store_f16(out, p.scale_h);
    lq_store_f16(out + 2, p.zero_h);
    const __m512 zero = _mm512_set1_ps(p.zero), inv = _mm512_set1_ps(p.inv_scale);
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(static_cast<float>((1 << BITS) - 1));
    alignas(64) uint8_t q[LEN];
    for (int k = 0; k < NV; ++k) {
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(v[k], zero), inv);
        t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
        _mm_store_si128(reinterpret_cast<__m128i *>(q + 16 * k), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(t)));
    }
    if (BITS == 8) std::memcpy(out + 4, q, LEN);
    else lq_pack_bits_pext<BITS>(q, LEN, out + 4);
}

template <int BITS>
void quantize_group(const float * x, int64_t len, uint8_t * out) {
    const __m512 first = _mm512_set1_ps(x[0]);
    __m512 vmin = first, vmax = first;
    int64_t i = 0;
    for (; i + 16 <= len; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        vmin = _mm512_min_ps(vmin, v);
        vmax = _mm512_max_ps(vmax, v);
    }
    if (i < len) {
        const __m512 v = _mm512_mask_loadu_ps(first, tail_mask(len - i), x + i);
        vmin = _mm512_min_ps(vmin, v);
        vmax = _mm512_max_ps(vmax, v);
    }
    const lq_intn_params p = params_minmax(_mm512_reduce_min_ps(vmin), _mm512_reduce_max_ps(vmax), BITS);
    lq_store_f16(out, p.scale_h);
    lq_store_f16(out + 2, p.zero_h);
    out += 4;
    const __m512 zero = _mm512_set1_ps(p.zero), inv = _mm512_set1_ps(p.inv_scale);
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(static_cast<float>((1 << BITS) - 1));
    // Quantize in chunks of 256 values (a whole number of bytes at any width) and pack each chunk.
    alignas(64) uint8_t q[256];
    for (int64_t c = 0; c < len; c += 256) {
        const int64_t clen = len - c < 256 ? len - c : 256;
        for (int64_t j = 0; j < clen; j += 16) {
            const __mmask16 m = tail_mask(clen - j);
            __m512 t = _mm512_maskz_loadu_ps(m, x + c + j);
            t = _mm512_mul_ps(_mm512_sub_ps(t, zero), inv);
            t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
            const __m512i qi = _mm512_maskz_mov_epi32(m, _mm512_cvtps_epi32(t));
            _mm_store_si128(reinterpret_cast<__m128i *>(q + j), _mm512_cvtepi32_epi8(qi));
        }
        lq_pack_bits_pext<BITS>(q, clen, out);
        out += clen * BITS / 8;  // clen is a multiple of 8 except in the last chunk
    }
}

// ---- four full groups at a time (the common case) -------------------------------------------

// Max (or min) of each of a0..a3 as a __m128 (transposed shuffle tree; see block32-avx512.h).
template <bool MAX>
inline __m128 reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    auto op = [](__m512 a, __m512 b) { return MAX ? _mm512_max_ps(a, b) : _mm512_min_ps(a, b); };
    const __m512 t01 = op(_mm512_shuffle_f32x4(a0, a1, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a0, a1, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 t23 = op(_mm512_shuffle_f32x4(a2, a3, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a2, a3, _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 u = op(_mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(3, 1, 3, 1)));
    u = op(u, _mm512_permute_ps(u, _MM_SHUFFLE(2, 3, 0, 1)));
    u = op(u, _mm512_permute_ps(u, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), u));
}

inline __m512 bcast(__m128 v, int k) { return _mm512_permutexvar_ps(_mm512_set1_epi32(k), _mm512_castps128_ps512(v)); }

// Four consecutive full groups of LEN (a multiple of 32) starting at x; y receives 4 groups.
template <int BITS, int LEN>
void quantize_groups4(const float * x, uint8_t * y) {
    constexpr int NV = LEN / 16;
    constexpr int64_t GB = lq_intn_group_bytes(BITS, LEN);
    __m512 mn[4], mx[4];
    for (int k = 0; k < 4; ++k) {
        mn[k] = mx[k] = _mm512_loadu_ps(x + k * LEN);
        for (int j = 1; j < NV; ++j) {
            const __m512 v = _mm512_loadu_ps(x + k * LEN + 16 * j);
            mn[k] = _mm512_min_ps(mn[k], v);
            mx[k] = _mm512_max_ps(mx[k], v);
        }
    }
    // lq_intn_params_minmax for four groups, same IEEE operations.
    const __m128 z0 = _mm_setzero_ps();
    const __m128 vmn = _mm_add_ps(reduce4<false>(mn[0], mn[1], mn[2], mn[3]), z0);
    const __m128 vmx = _mm_add_ps(reduce4<true>(mx[0], mx[1], mx[2], mx[3]), z0);
    const __m128 lim = _mm_set1_ps(LQ_F16_MAX), nlim = _mm_set1_ps(-LQ_F16_MAX);
    auto sat = [&](__m128 v) { return _mm_max_ps(_mm_min_ps(v, lim), nlim); };
    const __m128i zh = _mm_cvtps_ph(sat(vmn), _MM_FROUND_TO_NEAREST_INT);
    const __m128i sh = _mm_cvtps_ph(sat(_mm_div_ps(_mm_sub_ps(vmx, vmn), _mm_set1_ps(static_cast<float>((1 << BITS) - 1)))),
                                    _MM_FROUND_TO_NEAREST_INT);
    const __m128 zero4 = _mm_cvtph_ps(zh), s4 = _mm_cvtph_ps(sh);
    const __m128 inv4 = _mm_and_ps(_mm_div_ps(_mm_set1_ps(1.0f), s4), _mm_cmp_ps(s4, z0, _CMP_GT_OQ));
    alignas(16) uint16_t zhs[8], shs[8];
    _mm_store_si128(reinterpret_cast<__m128i *>(zhs), zh);
    _mm_store_si128(reinterpret_cast<__m128i *>(shs), sh);
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(static_cast<float>((1 << BITS) - 1));
    for (int k = 0; k < 4; ++k) {
        uint8_t * out = y + k * GB;
        lq_store_f16(out, shs[k]);
        lq_store_f16(out + 2, zhs[k]);
        out += 4;
        const __m512 zero = bcast(zero4, k), inv = bcast(inv4, k);
        for (int j = 0; j < NV; j += 2) {
            __m512 t0 = _mm512_loadu_ps(x + k * LEN + 16 * j), t1 = _mm512_loadu_ps(x + k * LEN + 16 * j + 16);
            t0 = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_sub_ps(t0, zero), inv), lo), hi);
            t1 = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_sub_ps(t1, zero), inv), lo), hi);
            if (BITS == 4) {
                // In-register nibble packing: each 64-bit lane holds q[2i] (low dword) and q[2i+1]
                // (high dword); q[2i] | q[2i+1] << 4 lands in its low byte, vpmovqb keeps it.
                const __m512i q0 = _mm512_cvtps_epi32(t0), q1 = _mm512_cvtps_epi32(t1);
                const __m128i p0 = _mm512_cvtepi64_epi8(_mm512_or_si512(q0, _mm512_srli_epi64(q0, 28)));
                const __m128i p1 = _mm512_cvtepi64_epi8(_mm512_or_si512(q1, _mm512_srli_epi64(q1, 28)));
                _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 16 * j / 2), _mm_unpacklo_epi64(p0, p1));
                continue;
            }
            const __m128i b0 = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(t0)), b1 = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(t1));
            if (BITS == 8) {
                _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 16 * j), b0);
                _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 16 * j + 16), b1);
                continue;
            }
            const uint64_t u[4] = {static_cast<uint64_t>(_mm_cvtsi128_si64(b0)), static_cast<uint64_t>(_mm_extract_epi64(b0, 1)),
                                   static_cast<uint64_t>(_mm_cvtsi128_si64(b1)), static_cast<uint64_t>(_mm_extract_epi64(b1, 1))};
            pack32<BITS>(u, out + (16 * j) * BITS / 8);
        }
    }
}

template <int BITS>
void quantize_row(const float * x, uint8_t * y, int64_t n, int64_t g) {
    if (g <= 0 || g > n) g = n;
    int64_t b = 0;
    constexpr int64_t gb = lq_intn_group_bytes(BITS, 32);
    if (g == 32) {
        for (; b + 4 * 32 <= n; b += 4 * 32, y += 4 * gb) quantize_groups4<BITS, 32>(x + b, y);
        for (; b + 32 <= n; b += 32, y += gb) quantize_group_fixed<BITS, 32>(x + b, y);
    } else if (g == 64) {
        constexpr int64_t gb64 = lq_intn_group_bytes(BITS, 64);
        for (; b + 4 * 64 <= n; b += 4 * 64, y += 4 * gb64) quantize_groups4<BITS, 64>(x + b, y);
        for (; b + 64 <= n; b += 64, y += gb64) quantize_group_fixed<BITS, 64>(x + b, y);
    } else if (g == 128) {
        constexpr int64_t gb128 = lq_intn_group_bytes(BITS, 128);
        for (; b + 4 * 128 <= n; b += 4 * 128, y += 4 * gb128) quantize_groups4<BITS, 128>(x + b, y);
        for (; b + 128 <= n; b += 128, y += gb128) quantize_group_fixed<BITS, 128>(x + b, y);
    }
    for (; b < n; b += g) {
        const int64_t len = n - b < g ? n - b : g;
        quantize_group<BITS>(x + b, len, y);
        y += lq_intn_group_bytes(BITS, len);
    }
}

}  // namespace

void lq_quantize_intn_avx512(const float * x, void * y, int64_t n, const float * importance, int bits, int64_t g) {
    if (importance) return lq_quantize_intn_ref(x, y, n, importance, bits, g);
    uint8_t * out = static_cast<uint8_t *>(y);
    switch (bits) {
        case 2: return quantize_row<2>(x, out, n, g);
        case 3: return quantize_row<3>(x, out, n, g);
        case 4: return quantize_row<4>(x, out, n, g);
        case 8: return quantize_row<8>(x, out, n, g);
        default: return lq_quantize_intn_ref(x, y, n, importance, bits, g);
    }
}
