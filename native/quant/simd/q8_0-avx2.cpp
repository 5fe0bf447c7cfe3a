// AVX2 variant of the Q8_0 quantizer (q8_0.cpp): the reference's arithmetic operation for
// operation (order-free reductions, x * (1/d), clamp, round to nearest even), so the bytes are
// identical; with importance weights it defers to the reference's scalar search.
#include "quant/simd/block32-avx2.h"

void lq_quantize_q8_0_avx2(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_quantize_q8_0_ref(x, vy, n, importance);
    block_q8_0 * y = static_cast<block_q8_0 *>(vy);
    const int64_t nb = n / LQ_QK8_0;
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4, x += 4 * LQ_QK8_0) {
        const scales4 sc(_mm_div_ps(absmax4(x), _mm_set1_ps(127.0f)));
        for (int k = 0; k < 4; ++k) {
            block_q8_0 & o = y[b + k];
            if (sc.zero(k)) {
                std::memset(&o, 0, sizeof(block_q8_0));
                continue;
            }
            const block32 blk(x + LQ_QK8_0 * k);
            __m256i q[4];
            blk.quantize(sc.ids[k], -127.0f, 127.0f, q);
            const __m256i s16a = _mm256_packs_epi32(q[0], q[1]), s16b = _mm256_packs_epi32(q[2], q[3]);
            const __m256i s8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(s16a, s16b), perm);
            o.d = sc.dh[k];
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(o.qs), s8);
        }
    }
    for (; b < nb; ++b, x += LQ_QK8_0) {
        const block32 blk(x);
        const float d = blk.absmax() / 127.0f;
        const uint16_t dh = to_f16(d);
        if (f16_is_zero(dh)) {
            std::memset(&y[b], 0, sizeof(block_q8_0));
            continue;
        }
        __m256i q[4];
        blk.quantize(1.0f / lq_f16_clamp(d), -127.0f, 127.0f, q);
        const __m256i s16a = _mm256_packs_epi32(q[0], q[1]), s16b = _mm256_packs_epi32(q[2], q[3]);
        const __m256i s8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(s16a, s16b), perm);
        y[b].d = dh;
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(y[b].qs), s8);
    }
}
