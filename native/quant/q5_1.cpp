// Q5_1 (ggml type 7): blocks of 32 weights, weight = d * q + m, q in [0, 31], d and m fp16.
// Reference quantizer: m = f16(min), d = f16((max - min) / 31), q = round-to-nearest-even of
// (x - m) / d with the stored values, clamped (intN's rule, basic.h lq_minmax_row); with importance
// weights, the affine search of weighted-search.h (same bytes in every ISA). The dequantizer is
// ggml's dequantize_row_q5_1 (q * d, then + m, in f32).
//
//   byte 0..1: d (fp16)   byte 2..3: m (fp16)
//   byte 4..7: qh, little-endian uint32: bit j = bit 4 of q[j] (j = 0..31)
//   byte 8+j (j = 0..15): bits 0-3 = low 4 bits of q[j], bits 4-7 = low 4 bits of q[j + 16]
#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/weighted-search.h"

void lq_quantize_q5_1_ref(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::affine_row<lq_w::e16_s, lq_q5_1_layout>(x, vy, n, importance);
    lq_minmax_row<lq_q5_1_layout>(x, vy, n);
}

void lq_dequantize_q5_1(const void * vy, float * x, int64_t n) {
    const block_q5_1 * y = static_cast<const block_q5_1 *>(vy);
    for (int64_t b = 0; b < n / LQ_QK5_1; ++b, x += LQ_QK5_1) {
        const float d = lq_f16_to_f32(y[b].d), m = lq_f16_to_f32(y[b].m);
        uint32_t qh;
        std::memcpy(&qh, y[b].qh, 4);
        for (int j = 0; j < 16; ++j) {
            const int h0 = static_cast<int>((qh >> j) & 1u) << 4, h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
            x[j] = static_cast<float>((y[b].qs[j] & 0x0f) | h0) * d + m;
            x[j + 16] = static_cast<float>((y[b].qs[j] >> 4) | h1) * d + m;
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q5_1, "q5_1", 7, block_q5_1, LQ_QK5_1, false, LQ_X86(lq_quantize_q5_1_avx512));
