// AVX2 variant of the group-wise intN quantizer (intn.cpp); see intn-avx512.cpp. Tails are
// handled with maskload (first value as the neutral fill for min/max, zeros for quantization).
#include <immintrin.h>

#include "quant/basic.h"
#include "quant/simd/pack-bits.h"

namespace {

inline __m256i tail_mask(int64_t left) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left < 8 ? left : 8)), idx);
}

// lq_intn_params_minmax with F16C conversions (bit-identical to fp16.h's RNE conversions; SIMD
// files must not call fp16.h's inline functions, see basic.h).
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

inline float hmin(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}
inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// Low byte of each of 8 int32 lanes → 8 bytes.
inline uint64_t narrow8(__m256i v) {
    const __m256i shuf = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i b = _mm256_shuffle_epi8(v, shuf);
    const uint64_t lo = static_cast<uint32_t>(_mm256_extract_epi32(b, 0));
    const uint64_t hi = static_cast<uint32_t>(_mm256_extract_epi32(b, 4));
    return lo | (hi << 32);
}

template <int BITS>
void quantize_group(const float * x, int64_t len, uint8_t * out) {
    const __m256 first = _mm256_set1_ps(x[0]);
    __m256 vmin = first, vmax = first;
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        vmin = _mm256_min_ps(vmin, v);
        vmax = _mm256_max_ps(vmax, v);
    }
    if (i < len) {
        const __m256i m = tail_mask(len - i);
        const __m256 v = _mm256_blendv_ps(first, _mm256_maskload_ps(x + i, m), _mm256_castsi256_ps(m));
        vmin = _mm256_min_ps(vmin, v);
        vmax = _mm256_max_ps(vmax, v);
    }
    const lq_intn_params p = params_minmax(hmin(vmin), hmax(vmax), BITS);
    lq_store_f16(out, p.scale_h);
    lq_store_f16(out + 2, p.zero_h);
    out += 4;
    const __m256 zero = _mm256_set1_ps(p.zero), inv = _mm256_set1_ps(p.inv_scale);
    const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(static_cast<float>((1 << BITS) - 1));
    alignas(32) uint8_t q[256];
    for (int64_t c = 0; c < len; c += 256) {
        const int64_t clen = len - c < 256 ? len - c : 256;
        for (int64_t j = 0; j < clen; j += 8) {
            const __m256i m = tail_mask(clen - j);
            __m256 t = _mm256_maskload_ps(x + c + j, m);
            t = _mm256_mul_ps(_mm256_sub_ps(t, zero), inv);
            t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
            const __m256i qi = _mm256_and_si256(_mm256_cvtps_epi32(t), m);
            const uint64_t b8 = narrow8(qi);
            std::memcpy(q + j, &b8, 8);
        }
        lq_pack_bits_pext<BITS>(q, clen, out);
        out += clen * BITS / 8;
    }
}

// ---- four full groups of LEN (multiple of 32) at a time ------------------------------------

// Max (or min) of each of a0..a3 (8 lanes each) as a __m128 [r0, r1, r2, r3].
template <bool MAX>
inline __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    auto op = [](__m256 a, __m256 b) { return MAX ? _mm256_max_ps(a, b) : _mm256_min_ps(a, b); };
    const __m256 t01 = op(_mm256_permute2f128_ps(a0, a1, 0x20), _mm256_permute2f128_ps(a0, a1, 0x31));  // [a0 4 | a1 4]
    const __m256 t23 = op(_mm256_permute2f128_ps(a2, a3, 0x20), _mm256_permute2f128_ps(a2, a3, 0x31));  // [a2 4 | a3 4]
    const __m256 h = op(_mm256_shuffle_ps(t01, t23, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(t01, t23, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m256 h2 = op(_mm256_shuffle_ps(h, h, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(h, h, _MM_SHUFFLE(3, 1, 3, 1)));
    // lane 0 = [r0, r2, r0, r2], lane 1 = [r1, r3, r1, r3]
    return _mm_unpacklo_ps(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1));
}

template <int BITS, int LEN>
void quantize_groups4(const float * x, uint8_t * y) {
    constexpr int NV = LEN / 8;
    constexpr int64_t GB = lq_intn_group_bytes(BITS, LEN);
    __m256 mn[4], mx[4];
    for (int k = 0; k < 4; ++k) {
        mn[k] = mx[k] = _mm256_loadu_ps(x + k * LEN);
        for (int j = 1; j < NV; ++j) {
            const __m256 v = _mm256_loadu_ps(x + k * LEN + 8 * j);
            mn[k] = _mm256_min_ps(mn[k], v);
            mx[k] = _mm256_max_ps(mx[k], v);
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
    alignas(16) float zs[4], invs[4];
    _mm_store_si128(reinterpret_cast<__m128i *>(zhs), zh);
    _mm_store_si128(reinterpret_cast<__m128i *>(shs), sh);
    _mm_store_ps(zs, zero4);
    _mm_store_ps(invs, inv4);
    const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(static_cast<float>((1 << BITS) - 1));
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int k = 0; k < 4; ++k) {
        uint8_t * out = y + k * GB;
        lq_store_f16(out, shs[k]);
        lq_store_f16(out + 2, zhs[k]);
        out += 4;
        const __m256 zero = _mm256_set1_ps(zs[k]), inv = _mm256_set1_ps(invs[k]);
        for (int j = 0; j < NV; j += 4) {
            __m256i q[4];
            for (int t = 0; t < 4; ++t) {
                __m256 v = _mm256_loadu_ps(x + k * LEN + 8 * (j + t));
                v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_sub_ps(v, zero), inv), lo), hi);
                q[t] = _mm256_cvtps_epi32(v);
            }
            // 32 int32 in [0, 255] → 32 bytes in order (packs are per 128-bit lane; permute fixes order).
            const __m256i w = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
            alignas(32) uint64_t u[4];
            _mm256_store_si256(reinterpret_cast<__m256i *>(u), _mm256_permutevar8x32_epi32(w, perm));
            pack32<BITS>(u, out + (8 * j) * BITS / 8);
        }
    }
}

template <int BITS>
void quantize_row(const float * x, uint8_t * y, int64_t n, int64_t g) {
    if (g <= 0 || g > n) g = n;
    int64_t b = 0;
    if (g == 32) {
        for (; b + 4 * 32 <= n; b += 4 * 32, y += 4 * lq_intn_group_bytes(BITS, 32)) quantize_groups4<BITS, 32>(x + b, y);
    } else if (g == 64) {
        for (; b + 4 * 64 <= n; b += 4 * 64, y += 4 * lq_intn_group_bytes(BITS, 64)) quantize_groups4<BITS, 64>(x + b, y);
    } else if (g == 128) {
        for (; b + 4 * 128 <= n; b += 4 * 128, y += 4 * lq_intn_group_bytes(BITS, 128)) quantize_groups4<BITS, 128>(x + b, y);
    }
    for (; b < n; b += g) {
        const int64_t len = n - b < g ? n - b : g;
        quantize_group<BITS>(x + b, len, y);
        y += lq_intn_group_bytes(BITS, len);
    }
}

}  // namespace

void lq_quantize_intn_avx2(const float * x, void * y, int64_t n, const float * importance, int bits, int64_t g) {
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
