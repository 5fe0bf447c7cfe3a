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
    const lq_intn_params p = lq_intn_params_minmax(hmin(vmin), hmax(vmax), BITS);
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

template <int BITS>
void quantize_row(const float * x, uint8_t * y, int64_t n, int64_t g) {
    if (g <= 0 || g > n) g = n;
    for (int64_t b = 0; b < n; b += g) {
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
