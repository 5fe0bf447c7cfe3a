// AVX2 variant of the Q5_1 quantizer (q5_1.cpp): the reference's operations (order-free min/max,
// the f16 parameters with F16C, (x - m) * (1/d), clamp, round to nearest even), four blocks at a
// time, so the bytes are identical; with importance weights, the reference's affine search
// (quant/weighted-search.h) on this ISA's element vectors.
#include "quant/simd/affine32-avx2.h"
#include "quant/simd/elem-avx2.h"
#include "quant/weighted-search.h"

void lq_quantize_q5_1_avx2(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::affine_row<lq_w::e16_avx2, lq_q5_1_layout>(x, vy, n, importance);
    minmax_row<lq_q5_1_layout>(x, static_cast<block_q5_1 *>(vy), n / 32, [](block_q5_1 & o, const __m256i * q) {
        // qh bit j = bit 4 of q[j] (moved to the sign bit); qs[j] = low nibbles of q[j], q[j + 16].
        uint32_t qh = 0;
        for (int t = 0; t < 4; ++t) qh |= static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(q[t], 27)))) << (8 * t);
        std::memcpy(o.qh, &qh, 4);
        const __m256i m4 = _mm256_set1_epi32(15);
        const __m256i lo = _mm256_or_si256(_mm256_and_si256(q[0], m4), _mm256_slli_epi32(_mm256_and_si256(q[2], m4), 4));
        const __m256i hi = _mm256_or_si256(_mm256_and_si256(q[1], m4), _mm256_slli_epi32(_mm256_and_si256(q[3], m4), 4));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs), narrow16(lo, hi));
    });
}
