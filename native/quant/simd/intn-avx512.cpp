// AVX-512 variant of the group-wise intN quantizer (intn.cpp), bytes identical to the reference:
// the same IEEE operations (lq_intn_params_minmax, done with F16C here, then (x - zero) * (1/scale),
// clamp to [0, 2^N - 1], round to nearest even); with importance weights, the
// reference's affine search (quant/weighted-search.h) on this ISA's element vectors.
// Full groups go 16 (then 4) at a time: one transposed min/max tree, division and fp16 conversion
// serve all of them, and the bits are packed in registers. The last 1-3 full groups and a short
// last group go one by one (masked min/max with the tail lanes filled with the group's first
// value, neutral for min and max; PEXT packing).
// GCC 12 reports a false "may be used uninitialized" inside its own _mm512_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "quant/simd/shared.h"
#include "quant/simd/elem-avx512.h"
#include "quant/simd/pack-bits.h"
#include "quant/weighted-search.h"

namespace {

inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1); }

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
    const lq_intn_params p = lq_intn_params_minmax(_mm512_reduce_min_ps(vmin), _mm512_reduce_max_ps(vmax), BITS);
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
    // Four independent min/max chains: one chain is latency-bound, 4 cycles per 16 values, about
    // the whole time budget of a long (row-wide) group. Any order gives the same min and max.
    __m512 mn[4] = {first, first, first, first}, mx[4] = {first, first, first, first};
    int64_t i = 0;
    for (; i + 64 <= len; i += 64) {
        for (int k = 0; k < 4; ++k) {
            const __m512 v = _mm512_loadu_ps(x + i + 16 * k);
            mn[k] = _mm512_min_ps(mn[k], v);
            mx[k] = _mm512_max_ps(mx[k], v);
        }
    }
    __m512 vmin = _mm512_min_ps(_mm512_min_ps(mn[0], mn[1]), _mm512_min_ps(mn[2], mn[3]));
    __m512 vmax = _mm512_max_ps(_mm512_max_ps(mx[0], mx[1]), _mm512_max_ps(mx[2], mx[3]));
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
    const lq_intn_params p = lq_intn_params_minmax(_mm512_reduce_min_ps(vmin), _mm512_reduce_max_ps(vmax), BITS);
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
            if (BITS == 8) _mm_mask_storeu_epi8(out + j, m, _mm512_cvtepi32_epi8(qi));  // bytes are the packing
            else _mm_store_si128(reinterpret_cast<__m128i *>(q + j), _mm512_cvtepi32_epi8(qi));
        }
        if (BITS != 8) lq_pack_bits_pext<BITS>(q, clen, out);
        out += clen * BITS / 8;  // clen is a multiple of 8 except in the last chunk
    }
}

// ---- NG (16 or 4) full groups of LEN (32, 64 or 128) at a time -----------------------------
// Per-group overhead (dominant for 32-wide groups) is shared by 16 groups: one min/max tree, one
// set of divisions and fp16 conversions; bit packing works on 128 values per vector.

// Lane i (< NG) of the result = op over all lanes of group i's vector, which is a[slot(i)]; a is
// clobbered. Each level pairs halves of two vectors with one blend and one shuffle: 16 shuffles
// for 16 vectors, where block32-avx512.h's reduce4 needs 9 per 4. With 16, the last level leaves
// quarter q of the second level's vector j in lane 4q + j, hence slot 4(g & 3) + (0, 2, 1, 3)[g >> 2].
template <int NG>
constexpr int slot(int g) { return NG == 4 ? g : 4 * (g & 3) + ((g >> 1) & 2) + (g >> 3); }
template <bool MAX, int NG>
inline __m512 reduce_groups(__m512 * a) {
    auto op = [](__m512 x, __m512 y) { return MAX ? _mm512_max_ps(x, y) : _mm512_min_ps(x, y); };
    // [u.lo | w.hi] op [u.hi | w.lo]: u's 8 partials in the low half, w's in the high half.
    for (int i = 0; i < NG / 2; ++i)
        a[i] = op(_mm512_mask_blend_ps(0xff00, a[2 * i], a[2 * i + 1]), _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(1, 0, 3, 2)));
    // 128-bit quarters: [u0 w1 u2 w3] op [u1 w0 u3 w2] (u = [A | B], w = [C | D]) → [A C B D].
    const __m512i quarters = _mm512_setr_epi32(4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 24, 25, 26, 27);
    for (int i = 0; i < NG / 4; ++i)
        a[i] = op(_mm512_mask_blend_ps(0xf0f0, a[2 * i], a[2 * i + 1]), _mm512_permutex2var_ps(a[2 * i], quarters, a[2 * i + 1]));
    if constexpr (NG == 4) {  // finish each quarter in place, then gather them in group order
        __m512 u = op(a[0], _mm512_permute_ps(a[0], _MM_SHUFFLE(1, 0, 3, 2)));
        u = op(u, _mm512_permute_ps(u, _MM_SHUFFLE(2, 3, 0, 1)));
        return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 8, 4, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), u);
    }
    // Within each 128-bit lane: [u0 u1 w2 w3] op [u2 u3 w0 w1] → pairs (u, u, w, w).
    for (int i = 0; i < 2; ++i)
        a[i] = op(_mm512_mask_blend_ps(0xcccc, a[2 * i], a[2 * i + 1]), _mm512_shuffle_ps(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(1, 0, 3, 2)));
    // [u0 u2 w0 w2] op [u1 u3 w1 w3]: one value per group.
    return op(_mm512_shuffle_ps(a[0], a[1], _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(a[0], a[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// 4 groups (8 vectors of int32 q < 2^BITS, 2 per group) → their 4 bitstreams back to back in one
// vector (BITS < 8); the q bytes of groups 0-1 are left in b[0] and those of 2-3 in b[1].
// Adjacent values are merged with byte/word multiply-adds, which never overflow here.
template <int BITS>
inline __m512i pack4(const __m512i * q, __m512i * b) {
    // The packs interleave 128-bit lanes (dword 4l + k = values 4l + 16(k & 1).. of group k >> 1);
    // `runs` puts the 4-value runs back in order.
    const __m512i runs = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    for (int h = 0; h < 2; ++h)
        b[h] = _mm512_permutexvar_epi32(runs, _mm512_packus_epi16(_mm512_packus_epi32(q[4 * h], q[4 * h + 1]), _mm512_packus_epi32(q[4 * h + 2], q[4 * h + 3])));
    if constexpr (BITS == 8) {
        return b[0];
    } else if constexpr (BITS == 4) {
        // Words q[2i] + 16 q[2i+1]; the byte pack leaves 8-byte runs lane-interleaved.
        const __m512i m = _mm512_set1_epi16(0x1001);
        const __m512i p = _mm512_packus_epi16(_mm512_maddubs_epi16(b[0], m), _mm512_maddubs_epi16(b[1], m));
        return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), p);
    } else {
        // Dwords of 4 values: q0 + (q1 << N) + (q2 << 2N) + (q3 << 3N).
        const __m512i m1 = _mm512_set1_epi16(static_cast<int16_t>(1 | (1 << BITS) << 8)), m2 = _mm512_set1_epi32(1 | (1 << 2 * BITS) << 16);
        const __m512i d0 = _mm512_madd_epi16(_mm512_maddubs_epi16(b[0], m1), m2), d1 = _mm512_madd_epi16(_mm512_maddubs_epi16(b[1], m1), m2);
        const __m512i w = _mm512_packus_epi32(d0, d1);  // lane l: d0's dwords 4l.., then d1's
        if constexpr (BITS == 2) return _mm512_permutexvar_epi32(runs, _mm512_packus_epi16(w, w));  // one byte per dword
        // 3 bits: 24-bit dwords of 8 values, their 3 bytes compacted per lane, then the 6-byte runs
        // (3 words) gathered across lanes.
        const __m512i e = _mm512_madd_epi16(w, _mm512_set1_epi32(1 | 4096 << 16));
        const __m512i c = _mm512_shuffle_epi8(e, _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1)));
        return _mm512_permutexvar_epi16(_mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 29, 28, 27, 21, 20, 19, 13, 12, 11, 5, 4, 3,  // reversed
                                                         26, 25, 24, 18, 17, 16, 10, 9, 8, 2, 1, 0),
                                        c);
    }
}

template <int BITS, int LEN, int NG>
void quantize_groups(const float * x, uint8_t * y) {
    constexpr int NV = LEN / 16, DB = 4 * BITS;  // vectors per group, bytes per 32 values
    constexpr int64_t GB = lq_intn_group_bytes(BITS, LEN);
    __m512 mn[NG], mx[NG];
    for (int g = 0; g < NG; ++g) {
        const int s = slot<NG>(g);
        mn[s] = mx[s] = _mm512_loadu_ps(x + g * LEN);
        for (int j = 1; j < NV; ++j) {
            const __m512 v = _mm512_loadu_ps(x + g * LEN + 16 * j);
            mn[s] = _mm512_min_ps(mn[s], v);
            mx[s] = _mm512_max_ps(mx[s], v);
        }
    }
    // lq_intn_params_minmax for the groups (lanes >= NG unused), same IEEE operations.
    const __m512 z = _mm512_setzero_ps();
    const __m512 vmn = _mm512_add_ps(reduce_groups<false, NG>(mn), z), vmx = _mm512_add_ps(reduce_groups<true, NG>(mx), z);
    const __m256i zh = _mm512_cvtps_ph(clamp_f16(vmn), _MM_FROUND_TO_NEAREST_INT);
    const __m256i sh = _mm512_cvtps_ph(clamp_f16(_mm512_div_ps(_mm512_sub_ps(vmx, vmn), _mm512_set1_ps(static_cast<float>((1 << BITS) - 1)))),
                                       _MM_FROUND_TO_NEAREST_INT);
    const __m512 s = _mm512_cvtph_ps(sh);
    alignas(64) float zs[16], invs[16];
    alignas(64) uint32_t hdr[16];  // scale | zero << 16: the group's first 4 bytes
    _mm512_store_ps(zs, _mm512_cvtph_ps(zh));
    _mm512_store_ps(invs, _mm512_maskz_div_ps(_mm512_cmp_ps_mask(s, z, _CMP_GT_OQ), _mm512_set1_ps(1.0f), s));
    _mm512_store_si512(hdr, _mm512_or_si512(_mm512_cvtepu16_epi32(sh), _mm512_slli_epi32(_mm512_cvtepu16_epi32(zh), 16)));
    for (int g = 0; g < NG; ++g) std::memcpy(y + g * GB, &hdr[g], 4);
    const __m512 hi = _mm512_set1_ps(static_cast<float>((1 << BITS) - 1));
    for (int c = 0; c < NG * LEN; c += 128) {  // 128 values (4 runs of 32) per pack4
        __m512i q[8], b[2];
        for (int i = 0; i < 8; ++i) {
            const int g = (c + 16 * i) / LEN;
            const __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + c + 16 * i), _mm512_set1_ps(zs[g])), _mm512_set1_ps(invs[g]));
            q[i] = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(t, z), hi));
        }
        const __m512i p = pack4<BITS>(q, b);
        for (int k = 0; k < 4; ++k) {
            const int v = c + 32 * k;  // value index of this run in the NG groups
            uint8_t * out = y + v / LEN * GB + 4 + v % LEN * BITS / 8;
            if (BITS == 8) {
                // (An immediate operand must be a constant even where the loop is not unrolled, as at -O1.)
                const __m256i h = k & 1 ? _mm512_extracti64x4_epi64(b[k >> 1], 1) : _mm512_castsi512_si256(b[k >> 1]);
                _mm256_storeu_si256(reinterpret_cast<__m256i *>(out), h);
                continue;
            }
            // Masked store of the run's DB bytes, found at byte `off` of p.
            const int off = DB * k;
            _mm512_mask_storeu_epi8(out - off, ((1ull << DB) - 1) << off, p);
        }
    }
}

// Full groups of LEN from the start of a row of n; returns how many values they cover.
template <int BITS, int LEN>
int64_t quantize_full_groups(const float * x, uint8_t * y, int64_t n) {
    constexpr int64_t gb = lq_intn_group_bytes(BITS, LEN);
    int64_t b = 0;
    for (; b + 16 * LEN <= n; b += 16 * LEN, y += 16 * gb) quantize_groups<BITS, LEN, 16>(x + b, y);
    for (; b + 4 * LEN <= n; b += 4 * LEN, y += 4 * gb) quantize_groups<BITS, LEN, 4>(x + b, y);
    for (; b + LEN <= n; b += LEN, y += gb) quantize_group_fixed<BITS, LEN>(x + b, y);
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
    lq_w::intn_row<lq_w::e16_avx512, BITS>(x, y, n, w, g, [](const uint8_t * q, int64_t cnt, int, uint8_t * out) { lq_pack_bits_pext<BITS>(q, cnt, out); });
}

}  // namespace

void lq_quantize_intn_avx512(const float * x, void * y, int64_t n, const float * importance, int bits, int64_t g) {
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
