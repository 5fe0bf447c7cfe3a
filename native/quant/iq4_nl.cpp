// IQ4_NL (ggml type 20): blocks of 32 weights, weight = d * v[q], q a 4-bit index into the 16
// non-linear levels v (common/codebooks/iq4_nl.h, derived from ggml's decoder), d fp16.
// Reference quantizer: the codebook search of weighted-search.h (iq4-search.h), with importance
// weights or uniform ones; ggml's dequantize_row_iq4_nl arithmetic (d * v in f32) to decode.
//
//   byte 0..1: d (fp16)
//   byte 2+j (j = 0..15): bits 0-3 = q[j], bits 4-7 = q[j + 16]
#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/iq4-search.h"

void lq_quantize_iq4_nl_ref(const float * x, void * vy, int64_t n, const float * importance) {
    lq_w::iq4_nl_row<lq_w::e16_s>(x, vy, n, importance);
}

void lq_dequantize_iq4_nl(const void * vy, float * x, int64_t n) {
    const block_iq4_nl * y = static_cast<const block_iq4_nl *>(vy);
    for (int64_t b = 0; b < n / LQ_QK4_NL; ++b, x += LQ_QK4_NL) {
        const float d = lq_f16_to_f32(y[b].d);
        for (int j = 0; j < 16; ++j) {
            x[j] = d * static_cast<float>(lq_iq4_nl_values[y[b].qs[j] & 0xf]);
            x[j + 16] = d * static_cast<float>(lq_iq4_nl_values[y[b].qs[j] >> 4]);
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(iq4_nl, "iq4_nl", 20, block_iq4_nl, LQ_QK4_NL, false, LQ_X86(lq_quantize_iq4_nl_avx512));
