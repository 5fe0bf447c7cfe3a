// AVX2 variant of the Q5_0 quantizer (q5_0.cpp): the reference's arithmetic operation for
// operation (order-free reductions, x * (1/d), clamp, round to nearest even), so the bytes are
// identical; with importance weights, the weighted search (quant/weighted-search.h) on this ISA's
// element vectors, the reference's operations in the reference's order.
#include "quant/simd/block32-avx2.h"
#include "quant/simd/elem-avx2.h"
#include "quant/weighted-search.h"

void lq_quantize_q5_0_avx2(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::sym_row<lq_w::e16_avx2, lq_q5_0_layout>(x, vy, n, importance);
    block_q5_0 * y = static_cast<block_q5_0 *>(vy);
    const int64_t nb = n / LQ_QK5_0;
    const __m256i off = _mm256_set1_epi32(16), m4 = _mm256_set1_epi32(15);
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4, x += 4 * LQ_QK5_0) {
        const scales4 sc(_mm_div_ps(signed_absmax4(x), _mm_set1_ps(-16.0f)));
        for (int k = 0; k < 4; ++k) {
            block_q5_0 & o = y[b + k];
            if (sc.zero(k)) {
                o.d = 0;
                const uint32_t qh = 0xffffffffu;
                std::memcpy(o.qh, &qh, 4);
                std::memset(o.qs, 0, sizeof o.qs);
                continue;
            }
            const block32 blk(x + LQ_QK5_0 * k);
            __m256i q[4];
            blk.quantize(sc.ids[k], -16.0f, 15.0f, q);
            uint32_t qh = 0;
            for (int t = 0; t < 4; ++t) {
                q[t] = _mm256_add_epi32(q[t], off);
                qh |= static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(q[t], 27)))) << (8 * t);
                q[t] = _mm256_and_si256(q[t], m4);
            }
            const __m256i lo = _mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4));
            const __m256i hi = _mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4));
            o.d = sc.dh[k];
            std::memcpy(o.qh, &qh, 4);
            _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs), narrow16(lo, hi));
        }
    }
    for (; b < nb; ++b, x += LQ_QK5_0) {
        const block32 blk(x);
        const float d = blk.signed_absmax() / -16.0f;
        const uint16_t dh = to_f16(d);
        if (f16_is_zero(dh)) {
            y[b].d = 0;
            const uint32_t qh = 0xffffffffu;
            std::memcpy(y[b].qh, &qh, 4);
            std::memset(y[b].qs, 0, sizeof y[b].qs);
            continue;
        }
        __m256i q[4];
        blk.quantize(1.0f / lq_f16_clamp(d), -16.0f, 15.0f, q);
        uint32_t qh = 0;
        for (int k = 0; k < 4; ++k) {
            q[k] = _mm256_add_epi32(q[k], off);
            // bit 4 of each lane → sign bit → movemask.
            qh |= static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(q[k], 27)))) << (8 * k);
            q[k] = _mm256_and_si256(q[k], m4);
        }
        const __m256i lo = _mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4));
        const __m256i hi = _mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4));
        y[b].d = dh;
        std::memcpy(y[b].qh, &qh, 4);
        _mm_storeu_si128(reinterpret_cast<__m128i *>(y[b].qs), narrow16(lo, hi));
    }
}
