// AVX2 variant of the group-wise intN quantizer (intn.cpp); see intn-avx512.cpp. Full groups go 8
// (then 4) at a time with one min/max tree and one set of divisions and fp16 conversions; the
// rest one by one, tails handled with maskload (first value as the neutral fill for min/max,
// zeros for quantization).
#include <immintrin.h>

#include "quant/basic.h"
#include "quant/simd/shared.h"
#include "quant/simd/elem-avx2.h"
#include "quant/simd/pack-bits.h"
#include "quant/weighted-search.h"

namespace {

inline __m256i tail_mask(int64_t left) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left < 8 ? left : 8)), idx);
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

// ---- NG (8, or 4 with 4 idle lanes) full groups of LEN (multiple of 32) at a time -----------

// Lane 4h + k of the result = op over all lanes of a[2k + h]; a is clobbered. Transposed tree:
// each level pairs halves of two vectors with one blend and one shuffle (the last, two shuffles).
template <bool MAX>
inline __m256 reduce8(__m256 * a) {
    auto op = [](__m256 x, __m256 y) { return MAX ? _mm256_max_ps(x, y) : _mm256_min_ps(x, y); };
    // [u.lo | w.hi] op [u.hi | w.lo] → [u | w] (4 partials each)
    for (int i = 0; i < 4; ++i) a[i] = op(_mm256_blend_ps(a[2 * i], a[2 * i + 1], 0xf0), _mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x21));
    // In each 128-bit lane: [u0 u1 w2 w3] op [u2 u3 w0 w1] → pairs (u, u, w, w).
    for (int i = 0; i < 2; ++i) a[i] = op(_mm256_blend_ps(a[2 * i], a[2 * i + 1], 0xcc), _mm256_shuffle_ps(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(1, 0, 3, 2)));
    return op(_mm256_shuffle_ps(a[0], a[1], _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(a[0], a[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// 32 bytes of q (< 2^BITS) in order → their 4*BITS bytes of bitstream at out, merging adjacent
// values with byte/word multiply-adds (which never overflow here) in registers.
template <int BITS>
inline void pack32_bytes(__m256i w, uint8_t * out) {
    if constexpr (BITS == 8) {
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(out), w);
    } else if constexpr (BITS == 4) {  // words q[2i] + 16 q[2i+1]
        const __m256i p = _mm256_packus_epi16(_mm256_maddubs_epi16(w, _mm256_set1_epi16(0x1001)), _mm256_setzero_si256());
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out), _mm256_castsi256_si128(_mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0))));
    } else {
        // Dwords of 4 values: q0 + (q1 << N) + (q2 << 2N) + (q3 << 3N).
        const __m256i m1 = _mm256_set1_epi16(static_cast<int16_t>(1 | (1 << BITS) << 8)), m2 = _mm256_set1_epi32(1 | (1 << 2 * BITS) << 16);
        const __m256i d = _mm256_madd_epi16(_mm256_maddubs_epi16(w, m1), m2);
        const __m256i h = _mm256_packus_epi32(d, d);  // lane l: words of dwords 4l..4l+3, twice
        if constexpr (BITS == 2) {
            const __m256i p = _mm256_packus_epi16(h, h);  // one byte per dword, 4 per lane
            _mm_storel_epi64(reinterpret_cast<__m128i *>(out), _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0))));
        } else {
            // 3 bits: 24-bit dwords of 8 values; their 3 bytes go to bytes 0-5 of lane 0 and 6-11 of
            // lane 1, so one OR joins the 12 bytes.
            const __m256i e = _mm256_madd_epi16(h, _mm256_set1_epi32(1 | 4096 << 16));
            const __m256i c = _mm256_shuffle_epi8(e, _mm256_setr_epi8(0, 1, 2, 4, 5, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                                                      -1, -1, -1, -1, -1, -1, 0, 1, 2, 4, 5, 6, -1, -1, -1, -1));
            const __m128i r = _mm_or_si128(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
            _mm_maskstore_epi32(reinterpret_cast<int *>(out), _mm_setr_epi32(-1, -1, -1, 0), r);
        }
    }
}

template <int BITS, int LEN, int NG>
void quantize_groups(const float * x, uint8_t * y) {
    constexpr int NV = LEN / 8;
    constexpr int64_t GB = lq_intn_group_bytes(BITS, LEN);
    __m256 mn[8], mx[8];
    for (int g = 0; g < 8; ++g) {
        const int s = 2 * (g & 3) + (g >> 2);  // reduce8 then yields group g in lane g
        if (g >= NG) {
            mn[s] = mx[s] = _mm256_setzero_ps();  // unused lanes
            continue;
        }
        mn[s] = mx[s] = _mm256_loadu_ps(x + g * LEN);
        for (int j = 1; j < NV; ++j) {
            const __m256 v = _mm256_loadu_ps(x + g * LEN + 8 * j);
            mn[s] = _mm256_min_ps(mn[s], v);
            mx[s] = _mm256_max_ps(mx[s], v);
        }
    }
    // lq_intn_params_minmax for the groups, same IEEE operations.
    const __m256 z = _mm256_setzero_ps();
    const __m256 vmn = _mm256_add_ps(reduce8<false>(mn), z), vmx = _mm256_add_ps(reduce8<true>(mx), z);
    const __m128i zh = _mm256_cvtps_ph(clamp_f16(vmn), _MM_FROUND_TO_NEAREST_INT);
    const __m128i sh = _mm256_cvtps_ph(clamp_f16(_mm256_div_ps(_mm256_sub_ps(vmx, vmn), _mm256_set1_ps(static_cast<float>((1 << BITS) - 1)))),
                                       _MM_FROUND_TO_NEAREST_INT);
    const __m256 s = _mm256_cvtph_ps(sh);
    alignas(32) float zs[8], invs[8];
    alignas(32) uint32_t hdr[8];  // scale | zero << 16: the group's first 4 bytes
    _mm256_store_ps(zs, _mm256_cvtph_ps(zh));
    _mm256_store_ps(invs, _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), s), _mm256_cmp_ps(s, z, _CMP_GT_OQ)));
    _mm_store_si128(reinterpret_cast<__m128i *>(hdr), _mm_unpacklo_epi16(sh, zh));
    _mm_store_si128(reinterpret_cast<__m128i *>(hdr + 4), _mm_unpackhi_epi16(sh, zh));
    const __m256 hi = _mm256_set1_ps(static_cast<float>((1 << BITS) - 1));
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int k = 0; k < NG; ++k) {
        uint8_t * out = y + k * GB;
        std::memcpy(out, &hdr[k], 4);
        out += 4;
        const __m256 zero = _mm256_set1_ps(zs[k]), inv = _mm256_set1_ps(invs[k]);
        for (int j = 0; j < NV; j += 4) {
            __m256i q[4];
            for (int t = 0; t < 4; ++t) {
                __m256 v = _mm256_loadu_ps(x + k * LEN + 8 * (j + t));
                v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_sub_ps(v, zero), inv), z), hi);
                q[t] = _mm256_cvtps_epi32(v);
            }
            // 32 int32 in [0, 255] → 32 bytes in order (packs are per 128-bit lane; permute fixes order).
            const __m256i w = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
            pack32_bytes<BITS>(_mm256_permutevar8x32_epi32(w, perm), out + (8 * j) * BITS / 8);
        }
    }
}

// Full groups of LEN from the start of a row of n; returns how many values they cover.
template <int BITS, int LEN>
int64_t quantize_full_groups(const float * x, uint8_t * y, int64_t n) {
    constexpr int64_t gb = lq_intn_group_bytes(BITS, LEN);
    int64_t b = 0;
    for (; b + 8 * LEN <= n; b += 8 * LEN, y += 8 * gb) quantize_groups<BITS, LEN, 8>(x + b, y);
    for (; b + 4 * LEN <= n; b += 4 * LEN, y += 4 * gb) quantize_groups<BITS, LEN, 4>(x + b, y);
    return b;
}

template <int BITS>
void quantize_row(const float * x, uint8_t * y, int64_t n, int64_t g) {
    if (g <= 0 || g > n) g = n;
    int64_t b = 0;
    if (g == 32) b = quantize_full_groups<BITS, 32>(x, y, n);
    if (g == 64) b = quantize_full_groups<BITS, 64>(x, y, n);
    if (g == 128) b = quantize_full_groups<BITS, 128>(x, y, n);
    y += b / g * lq_intn_group_bytes(BITS, g);
    for (; b < n; b += g) {
        const int64_t len = n - b < g ? n - b : g;
        quantize_group<BITS>(x + b, len, y);
        y += lq_intn_group_bytes(BITS, len);
    }
}

// With importance weights: the reference's affine search on this ISA's element vectors.
template <int BITS>
void weighted_row(const float * x, uint8_t * y, int64_t n, const float * w, int64_t g) {
    lq_w::intn_row<lq_w::e16_avx2, BITS>(x, y, n, w, g, [](const uint8_t * q, int64_t cnt, int, uint8_t * out) { lq_pack_bits_pext<BITS>(q, cnt, out); });
}

}  // namespace

void lq_quantize_intn_avx2(const float * x, void * y, int64_t n, const float * importance, int bits, int64_t g) {
    if (importance) {
        uint8_t * out = static_cast<uint8_t *>(y);
        switch (bits) {
            case 2: return weighted_row<2>(x, out, n, importance, g);
            case 3: return weighted_row<3>(x, out, n, importance, g);
            case 4: return weighted_row<4>(x, out, n, importance, g);
            case 8: return weighted_row<8>(x, out, n, importance, g);
            default: return lq_quantize_intn_ref(x, y, n, importance, bits, g);
        }
    }
    uint8_t * out = static_cast<uint8_t *>(y);
    switch (bits) {
        case 2: return quantize_row<2>(x, out, n, g);
        case 3: return quantize_row<3>(x, out, n, g);
        case 4: return quantize_row<4>(x, out, n, g);
        case 8: return quantize_row<8>(x, out, n, g);
        default: return lq_quantize_intn_ref(x, y, n, importance, bits, g);
    }
}
