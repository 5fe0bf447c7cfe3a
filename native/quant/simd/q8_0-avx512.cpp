// AVX512 variant of the Q8_0 quantizer (q8_0.cpp): the reference's arithmetic operation for
// operation (order-free reductions, x * (1/d), clamp, round to nearest even), so the bytes are
// identical; with importance weights, the weighted search (quant/weighted-search.h) on this ISA's
// element vectors, the reference's operations in the reference's order.
#include "quant/simd/block32-avx512.h"
#include "quant/simd/elem-avx512.h"
#include "quant/weighted-search.h"

void lq_quantize_q8_0_avx512(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::sym_row<lq_w::e16_avx512, lq_q8_0_layout>(x, vy, n, importance);
    block_q8_0 * y = static_cast<block_q8_0 *>(vy);
    const int64_t nb = n / LQ_QK8_0;
    const __m512 sign = _mm512_set1_ps(-0.0f);
    const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4, x += 4 * LQ_QK8_0) {
        __m512 v[8], a[4];
        for (int k = 0; k < 8; ++k) v[k] = _mm512_loadu_ps(x + 16 * k);
        for (int k = 0; k < 4; ++k) a[k] = _mm512_max_ps(_mm512_andnot_ps(sign, v[2 * k]), _mm512_andnot_ps(sign, v[2 * k + 1]));
        const scales4 sc(_mm_div_ps(reduce4<true>(a[0], a[1], a[2], a[3]), _mm_set1_ps(127.0f)));
        for (int k = 0; k < 4; ++k) {
            block_q8_0 & o = y[b + k];
            if (sc.zero(k)) {
                std::memset(&o, 0, sizeof(block_q8_0));
                continue;
            }
            const __m512 id = bcast(sc.id, k);
            o.d = sc.dh[k];
            _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs), _mm512_cvtepi32_epi8(round_clamp(v[2 * k], id, lo, hi)));
            _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs + 16), _mm512_cvtepi32_epi8(round_clamp(v[2 * k + 1], id, lo, hi)));
        }
    }
    for (; b < nb; ++b, x += LQ_QK8_0) {
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1)));
        const float d = amax / 127.0f;
        const uint16_t dh = to_f16(d);
        if (f16_is_zero(dh)) {
            std::memset(&y[b], 0, sizeof(block_q8_0));
            continue;
        }
        const __m512 id = _mm512_set1_ps(1.0f / lq_f16_clamp(d));
        y[b].d = dh;
        _mm_storeu_si128(reinterpret_cast<__m128i *>(y[b].qs), _mm512_cvtepi32_epi8(round_clamp(v0, id, lo, hi)));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(y[b].qs + 16), _mm512_cvtepi32_epi8(round_clamp(v1, id, lo, hi)));
    }
}
