// AVX512 variant of the Q5_0 quantizer (q5_0.cpp): the reference's arithmetic operation for
// operation (order-free reductions, x * (1/d), clamp, round to nearest even), so the bytes are
// identical; with importance weights it defers to the reference's scalar search.
#include "quant/simd/block32-avx512.h"

void lq_quantize_q5_0_avx512(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_quantize_q5_0_ref(x, vy, n, importance);
    block_q5_0 * y = static_cast<block_q5_0 *>(vy);
    const int64_t nb = n / LQ_QK5_0;
    const __m512 lo = _mm512_set1_ps(-16.0f), hi = _mm512_set1_ps(15.0f);
    const __m512i off = _mm512_set1_epi32(16), m4 = _mm512_set1_epi32(15);
    for (int64_t b = 0; b < nb; ++b, x += LQ_QK5_0) {
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const float d = signed_absmax(v0, v1) / -16.0f;
        const uint16_t dh = to_f16(d);
        if (f16_is_zero(dh)) {
            y[b].d = 0;
            const uint32_t qh = 0xffffffffu;  // q = 16 everywhere: high bit set, low nibble 0
            std::memcpy(y[b].qh, &qh, 4);
            std::memset(y[b].qs, 0, sizeof y[b].qs);
            continue;
        }
        const __m512 id = _mm512_set1_ps(1.0f / sat(d));
        const __m512i q0 = _mm512_add_epi32(round_clamp(v0, id, lo, hi), off);
        const __m512i q1 = _mm512_add_epi32(round_clamp(v1, id, lo, hi), off);
        const uint32_t qh = static_cast<uint32_t>(_mm512_test_epi32_mask(q0, off)) |
                            (static_cast<uint32_t>(_mm512_test_epi32_mask(q1, off)) << 16);
        y[b].d = dh;
        std::memcpy(y[b].qh, &qh, 4);
        const __m512i packed = _mm512_or_si512(_mm512_and_si512(q0, m4), _mm512_slli_epi32(_mm512_and_si512(q1, m4), 4));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(y[b].qs), _mm512_cvtepi32_epi8(packed));
    }
}
