// AVX512 variant of the Q4_0 quantizer (q4_0.cpp): the reference's arithmetic operation for
// operation (order-free reductions, x * (1/d), clamp, round to nearest even), so the bytes are
// identical; with importance weights, the weighted search (quant/weighted-search.h) on this ISA's
// element vectors, the reference's operations in the reference's order.
#include "quant/simd/block32-avx512.h"
#include "quant/simd/elem-avx512.h"
#include "quant/weighted-search.h"

void lq_quantize_q4_0_avx512(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::sym_row<lq_w::e16_avx512, lq_q4_0_layout>(x, vy, n, importance);
    block_q4_0 * y = static_cast<block_q4_0 *>(vy);
    const int64_t nb = n / LQ_QK4_0;
    const __m512 lo = _mm512_set1_ps(-8.0f), hi = _mm512_set1_ps(7.0f);
    const __m512i off = _mm512_set1_epi32(8), m4 = _mm512_set1_epi32(15);
    const __m128i x88 = _mm_set1_epi8(static_cast<char>(0x88));
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4, x += 4 * LQ_QK4_0) {
        __m512 v[8];
        for (int k = 0; k < 8; ++k) v[k] = _mm512_loadu_ps(x + 16 * k);
        const scales4 sc(_mm_div_ps(signed_absmax4(v), _mm_set1_ps(-8.0f)));
        for (int k = 0; k < 4; ++k) {
            block_q4_0 & o = y[b + k];
            if (sc.zero(k)) {
                o.d = 0;
                std::memset(o.qs, 0x88, sizeof o.qs);
                continue;
            }
            const __m512 id = bcast(sc.id, k);
            // Signed q in [-8, 7]: (q + 8) mod 16 == q ^ 8 on the low nibble, so merge the nibbles
            // with one bit-select and flip bit 3 of both with one byte XOR.
            const __m512i q0 = round_clamp(v[2 * k], id, lo, hi);
            const __m512i q1 = round_clamp(v[2 * k + 1], id, lo, hi);
            const __m512i nib = _mm512_ternarylogic_epi32(q0, _mm512_slli_epi32(q1, 4), m4, 0xE4);
            o.d = sc.dh[k];
            _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs), _mm_xor_si128(_mm512_cvtepi32_epi8(nib), x88));
        }
    }
    for (; b < nb; ++b, x += LQ_QK4_0) {
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const float d = signed_absmax(v0, v1) / -8.0f;
        const uint16_t dh = to_f16(d);
        if (f16_is_zero(dh)) {
            y[b].d = 0;
            std::memset(y[b].qs, 0x88, sizeof y[b].qs);
            continue;
        }
        const __m512 id = _mm512_set1_ps(1.0f / lq_f16_clamp(d));
        const __m512i q0 = _mm512_add_epi32(round_clamp(v0, id, lo, hi), off);
        const __m512i q1 = _mm512_add_epi32(round_clamp(v1, id, lo, hi), off);
        y[b].d = dh;
        _mm_storeu_si128(reinterpret_cast<__m128i *>(y[b].qs), _mm512_cvtepi32_epi8(_mm512_or_si512(q0, _mm512_slli_epi32(q1, 4))));
    }
}
