// Q4_1 (ggml type 3): blocks of 32 weights, weight = d * q + m, q in [0, 15], d and m fp16.
// Reference quantizer: m = f16(min), d = f16((max - min) / 15), q = round-to-nearest-even of
// (x - m) / d with the stored values, clamped (intN's rule, basic.h lq_minmax_row); with importance
// weights, the affine search of weighted-search.h (same bytes in every ISA). The dequantizer is
// ggml's dequantize_row_q4_1 (q * d, then + m, in f32).
//
//   byte 0..1: d (fp16)   byte 2..3: m (fp16)
//   byte 4+j (j = 0..15): bits 0-3 = q[j], bits 4-7 = q[j + 16]
#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/weighted-search.h"

void lq_quantize_q4_1_ref(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::affine_row<lq_w::e16_s, lq_q4_1_layout>(x, vy, n, importance);
    lq_minmax_row<lq_q4_1_layout>(x, vy, n);
}

void lq_dequantize_q4_1(const void * vy, float * x, int64_t n) {
    const block_q4_1 * y = static_cast<const block_q4_1 *>(vy);
    for (int64_t b = 0; b < n / LQ_QK4_1; ++b, x += LQ_QK4_1) {
        const float d = lq_f16_to_f32(y[b].d), m = lq_f16_to_f32(y[b].m);
        for (int j = 0; j < 16; ++j) {
            x[j] = static_cast<float>(y[b].qs[j] & 0x0f) * d + m;
            x[j + 16] = static_cast<float>(y[b].qs[j] >> 4) * d + m;
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q4_1, "q4_1", 3, block_q4_1, LQ_QK4_1, false, LQ_X86(lq_quantize_q4_1_avx512));
