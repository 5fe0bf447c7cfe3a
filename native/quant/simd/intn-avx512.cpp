// AVX-512 variant of the group-wise intN quantizer (intn.cpp): per group a masked min/max
// reduction (the tail lanes are filled with the group's first value, neutral for min and max),
// the shared lq_intn_params_minmax, then 16 lanes at a time (x - zero) * (1/scale), clamp to
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

template <int BITS>
void quantize_row(const float * x, uint8_t * y, int64_t n, int64_t g) {
    if (g <= 0 || g > n) g = n;
    int64_t b = 0;
    constexpr int64_t gb = lq_intn_group_bytes(BITS, 32);
    if (g == 32)
        for (; b + 32 <= n; b += 32, y += gb) quantize_group_fixed<BITS, 32>(x + b, y);
    else if (g == 64)
        for (; b + 64 <= n; b += 64, y += lq_intn_group_bytes(BITS, 64)) quantize_group_fixed<BITS, 64>(x + b, y);
    else if (g == 128)
        for (; b + 128 <= n; b += 128, y += lq_intn_group_bytes(BITS, 128)) quantize_group_fixed<BITS, 128>(x + b, y);
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
