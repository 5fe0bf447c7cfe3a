// Q4_0 (ggml type 2): blocks of 32 weights, fp16 scale d and 32 4-bit q, weight = (q - 8) * d.
// Reference quantizer: m = the value of largest magnitude (the negative one on a ±tie), d = m / -8
// so m lands on q = 0, q = round-to-nearest-even(x / d) + 8 clamped to [0, 15] (ggml's rule up to
// ties; basic.h lq_signed_absmax_row); with importance weights, the weighted scale search of
// weighted-search.h (same bytes in every ISA). d saturates at ±65504; a block whose d rounds to
// fp16 zero is stored as zeros.
//
//   byte 0..1: d (fp16)
//   byte 2+j (j = 0..15): bits 0-3 = q[j], bits 4-7 = q[j + 16]
#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/weighted-search.h"

void lq_quantize_q4_0_ref(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::sym_row<lq_w::e16_s, lq_q4_0_layout>(x, vy, n, importance);
    lq_signed_absmax_row<lq_q4_0_layout>(x, vy, n);
}

void lq_dequantize_q4_0(const void * vy, float * x, int64_t n) {
    const block_q4_0 * y = static_cast<const block_q4_0 *>(vy);
    const int64_t nb = n / LQ_QK4_0;
    for (int64_t b = 0; b < nb; ++b, x += LQ_QK4_0) {
        const float d = lq_f16_to_f32(y[b].d);
        for (int j = 0; j < LQ_QK4_0 / 2; ++j) {
            x[j] = static_cast<float>((y[b].qs[j] & 0x0f) - 8) * d;
            x[j + 16] = static_cast<float>((y[b].qs[j] >> 4) - 8) * d;
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q4_0, "q4_0", 2, block_q4_0, LQ_QK4_0, false, LQ_X86(lq_quantize_q4_0_avx512));
