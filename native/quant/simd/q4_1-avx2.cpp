// AVX2 variant of the Q4_1 quantizer (q4_1.cpp): the reference's operations (order-free min/max,
// the f16 parameters with F16C, (x - m) * (1/d), clamp, round to nearest even), four blocks at a
// time, so the bytes are identical; with importance weights, the reference's affine search
// (quant/weighted-search.h) on this ISA's element vectors.
#include "quant/simd/affine32-avx2.h"
#include "quant/simd/elem-avx2.h"
#include "quant/weighted-search.h"

void lq_quantize_q4_1_avx2(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::affine_row<lq_w::e16_avx2, lq_q4_1_layout>(x, vy, n, importance);
    minmax_row<lq_q4_1_layout>(x, static_cast<block_q4_1 *>(vy), n / 32, [](block_q4_1 & o, const __m256i * q) {
        // qs[j] = q[j] | q[j + 16] << 4
        const __m256i lo = _mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4)), hi = _mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs), narrow16(lo, hi));
    });
}
