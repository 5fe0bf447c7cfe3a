// AVX-512 variant of the Q5_1 quantizer (q5_1.cpp): the reference's operations (order-free
// min/max, the f16 parameters with F16C, (x - m) * (1/d), clamp, round to nearest even), four
// blocks at a time, so the bytes are identical; with importance weights, the reference's affine
// search (quant/weighted-search.h) on this ISA's element vectors.
#include "quant/simd/affine32-avx512.h"
#include "quant/simd/elem-avx512.h"
#include "quant/weighted-search.h"

void lq_quantize_q5_1_avx512(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::affine_row<lq_w::e16_avx512, lq_q5_1_layout>(x, vy, n, importance);
    minmax_row<lq_q5_1_layout>(x, static_cast<block_q5_1 *>(vy), n / 32, [](block_q5_1 & o, const __m512i * q) {
        // qh bit j = bit 4 of q[j]; qs[j] = (q[j] & 15) | (q[j + 16] << 4) & 0xf0 (one bit-select).
        const __m512i b4 = _mm512_set1_epi32(16);
        const uint32_t qh = static_cast<uint32_t>(_mm512_test_epi32_mask(q[0], b4)) | (static_cast<uint32_t>(_mm512_test_epi32_mask(q[1], b4)) << 16);
        std::memcpy(o.qh, &qh, 4);
        const __m512i packed = _mm512_ternarylogic_epi32(q[0], _mm512_slli_epi32(q[1], 4), _mm512_set1_epi32(15), 0xE4);
        _mm_storeu_si128(reinterpret_cast<__m128i *>(o.qs), _mm512_cvtepi32_epi8(packed));
    });
}
