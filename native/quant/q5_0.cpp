// Q5_0 (ggml type 6): blocks of 32 weights, fp16 scale d and 32 5-bit q, weight = (q - 16) * d.
// Reference quantizer: m = the value of largest magnitude (the negative one on a ±tie), d = m / -16,
// q = round-to-nearest-even(x / d) + 16 clamped to [0, 31] (ggml's rule up to ties; basic.h
// lq_signed_absmax_row); with importance weights, the weighted scale search of weighted-search.h
// (same bytes in every ISA). d saturates at ±65504; a block whose d rounds to fp16 zero is stored
// as zeros.
//
//   byte 0..1: d (fp16)
//   byte 2..5: qh, little-endian uint32: bit j = bit 4 of q[j] (j = 0..31)
//   byte 6+j (j = 0..15): bits 0-3 = low 4 bits of q[j], bits 4-7 = low 4 bits of q[j + 16]
#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/weighted-search.h"

void lq_quantize_q5_0_ref(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::sym_row<lq_w::e16_s, lq_q5_0_layout>(x, vy, n, importance);
    lq_signed_absmax_row<lq_q5_0_layout>(x, vy, n);
}

void lq_dequantize_q5_0(const void * vy, float * x, int64_t n) {
    const block_q5_0 * y = static_cast<const block_q5_0 *>(vy);
    const int64_t nb = n / LQ_QK5_0;
    for (int64_t b = 0; b < nb; ++b, x += LQ_QK5_0) {
        const float d = lq_f16_to_f32(y[b].d);
        uint32_t qh;
        std::memcpy(&qh, y[b].qh, 4);
        for (int j = 0; j < LQ_QK5_0 / 2; ++j) {
            const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
            const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
            x[j] = static_cast<float>(((y[b].qs[j] & 0x0f) | h0) - 16) * d;
            x[j + 16] = static_cast<float>(((y[b].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q5_0, "q5_0", 6, block_q5_0, LQ_QK5_0, false, LQ_X86(lq_quantize_q5_0_avx512));
